//! The web app on the native server: its files (built by `scripts/build-web` into `web/dist`)
//! are embedded in the binary by `build.rs`. `GET`/`HEAD` of `/assets/…` serves them; any other
//! `GET` outside `/api/`, `/runtime/` and the route table's own pages answers the app's page (the
//! app routes in the browser), with a strict Content-Security-Policy carrying a fresh style nonce
//! (xterm.js makes `<style>` elements; the page stamps them with it). API 404s stay JSON.

mod assets;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use burstflare_api::routes;

/// Middleware: the app's files and page for browser paths, the Router for everything else.
pub async fn route(request: Request, next: Next) -> Response {
    if !is_app_path(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if let Some(name) = path.strip_prefix('/').filter(|p| p.starts_with("assets/")) {
        return match assets::find(name) {
            Some(asset) => asset.response(request.headers()),
            None => next.run(request).await,
        };
    }
    // A file-like path that is no asset (`/favicon.ico`) is a plain 404, not the page.
    if path.rsplit('/').next().is_some_and(|last| last.contains('.')) {
        return next.run(request).await;
    }
    page(request.headers())
}

/// How many files of the app are embedded (0: built without `web/dist`).
pub fn embedded() -> usize {
    assets::count()
}

/// Whether the app (not the API) answers this request.
fn is_app_path(method: &Method, path: &str) -> bool {
    let api = ["/api", "/runtime"].iter().any(|p| path == *p || path.starts_with(&format!("{p}/")));
    matches!(*method, Method::GET | Method::HEAD) && !api && path != routes::DEVICE_PAGE
}

/// The app's page with its CSP; never cached (each response has its own nonce).
fn page(headers: &HeaderMap) -> Response {
    let nonce = nonce();
    let Some(index) = assets::find("index.html") else {
        return not_built();
    };
    let html = String::from_utf8_lossy(index.bytes).replace("__CSP_NONCE__", &nonce);
    let mut response = (StatusCode::OK, html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce, headers)) {
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

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// 128 random bits, hex.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // The OS's generator; should it ever fail, the page still loads (styles made by script don't).
    if getrandom::getrandom(&mut bytes).is_err() {
        tracing::error!("no randomness for the CSP nonce");
    }
    hex::encode(bytes)
}

/// Served when the binary was built without `web/dist`.
fn not_built() -> Response {
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

#[cfg(test)]
mod tests;
