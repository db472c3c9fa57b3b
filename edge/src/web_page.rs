//! The web app's page, the same in both shapes: which requests the app (not the API) answers, and
//! its page (`web/dist/index.html`, built by `scripts/build-web`) sent with a strict
//! Content-Security-Policy carrying a fresh style nonce (xterm.js makes `<style>` elements; the
//! page stamps them with it). Natively the files are embedded in the binary
//! (`native::web`); on Cloudflare they are the Worker's static assets (`[assets]`), and the
//! Worker renders the page (`worker_entry::events`).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use burstflare_api::routes;

/// The placeholder in `index.html` that each response fills with its nonce.
const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

/// Whether the app (not the API) answers this request.
pub fn is_app_path(method: &Method, path: &str) -> bool {
    let api = ["/api", "/runtime"].iter().any(|p| path == *p || path.starts_with(&format!("{p}/")));
    matches!(*method, Method::GET | Method::HEAD) && !api && path != routes::DEVICE_PAGE
}

/// A path naming a file (`/favicon.ico`): an asset or a plain 404, never the page.
pub fn is_file_like(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// The app's page from `index` with its CSP; never cached (each response has its own nonce).
pub fn page(index: &[u8], nonce: &str, headers: &HeaderMap) -> Response {
    let html = String::from_utf8_lossy(index).replace(NONCE_PLACEHOLDER, nonce);
    let mut response = (StatusCode::OK, html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(nonce, headers)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    security_headers(h);
    response
}

/// Scripts, styles, images and connections from this origin only (plus its WebSocket URLs for the
/// terminal); `<style>` elements only with this response's nonce; no frames, plugins or `<base>`.
pub fn content_security_policy(nonce: &str, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| is_plain_host(h));
    let sockets = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'{sockets}; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'; object-src 'none'"
    )
}

/// Letters, digits, `.`, `-`, `:` and brackets (a host, a port, an IPv6 literal): nothing that
/// could end a CSP directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

pub fn security_headers(h: &mut HeaderMap) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Served when the app's files are not there (a server built without `web/dist`).
pub fn not_built() -> Response {
    let body = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>BurstFlare</title>\
        <h1>The web app is not built into this server</h1>\
        <p>Run <code>scripts/build-web</code>, then build the server again. The JSON API is at \
        <code>/api/</code>.</p></html>";
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(h);
    response
}
