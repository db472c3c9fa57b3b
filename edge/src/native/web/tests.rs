//! The web middleware in front of a stand-in Router: which paths the app answers, its headers,
//! revalidation of assets, and that everything else (API 404s, `/device`'s redirect, mutations)
//! reaches the Router untouched.

use super::*;
use crate::web_page::content_security_policy;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use burstflare_api::routes;
use tower::ServiceExt;

fn app() -> Router {
    Router::new()
        .route(routes::DEVICE_PAGE, get(|| async { "device page" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "router 404") })
        .layer(axum::middleware::from_fn(route))
}

async fn call(method: &str, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:8787");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn the_page_answers_browser_paths_with_a_strict_policy() {
    for path in ["/", "/templates", "/sessions/ses_1/terminal", "/signin?next=%2F"] {
        let (status, headers, body) = call("GET", path, &[]).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
        if assets::count() == 0 {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert!(body.contains("scripts/build-web"));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(csp.contains("script-src 'self';") && csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self' ws://127.0.0.1:8787 wss://127.0.0.1:8787;"), "{csp}");
        let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(body.contains(&format!("content=\"{nonce}\"")) && !body.contains("__CSP_NONCE__"));
        assert!(!body.contains("<script>") && !body.contains("<style"), "nothing inline");
    }
}

#[tokio::test]
async fn every_page_has_its_own_nonce_and_odd_hosts_get_no_socket_source() {
    let csp = |h: HeaderMap| h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    let (_, first, _) = call("GET", "/", &[]).await;
    let (_, second, _) = call("GET", "/", &[]).await;
    if assets::count() > 0 {
        assert_ne!(csp(first), csp(second));
    }
    let policy =
        content_security_policy("n", &HeaderMap::from_iter([(header::HOST, "a; script-src *".parse().unwrap())]));
    assert!(policy.contains("connect-src 'self';"), "{policy}");
}

#[tokio::test]
async fn assets_are_typed_and_revalidated() {
    if assets::count() == 0 {
        return;
    }
    let (status, headers, body) = call("GET", "/assets/app.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(!body.is_empty());
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let (status, _, body) = call("GET", "/assets/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    let (_, headers, _) = call("GET", "/assets/app.css", &[]).await;
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_api_the_device_page_and_other_methods_reach_the_router() {
    for (method, path, expected) in [
        ("GET", "/api/nope", "router 404"),
        ("GET", "/api", "router 404"),
        ("GET", "/runtime/sessions/x/terminal", "router 404"),
        ("GET", "/device", "device page"),
        ("POST", "/", "router 404"),
        ("GET", "/assets/missing.js", "router 404"),
        ("GET", "/favicon.ico", "router 404"),
    ] {
        let (_, _, body) = call(method, path, &[]).await;
        assert_eq!(body, expected, "{method} {path}");
    }
}
