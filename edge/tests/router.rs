//! The Router serves exactly `ports::routes::ALL`: its registered paths (read from the Router
//! itself) and, for each, the methods that reach a handler rather than the 405 fallback, compared
//! with the table. A route mounted in the Router but missing from the table (and so from the
//! authorisation table test) fails here.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use burstflare_api::routes;
use burstflare_edge::native::{compose, ServerConfig};
use burstflare_edge::router;
use std::collections::BTreeSet;
use tower::ServiceExt;

const METHODS: [Method; 6] = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS];

/// The native server's Router, composed as the server composes it, over memory.
async fn app() -> axum::Router {
    let config = ServerConfig { data_dir: None, trust_forwarded_for: true, ..ServerConfig::default() };
    router(compose(&config).await.expect("compose").state)
}

/// The paths the Router has registered. axum has no API to list them, but its `Debug` output
/// prints them (`path_router: PathRouter { … paths: {RouteId(0): "/api/health", …} }`, then the
/// fallback's own router, which is not read).
fn registered_paths(router: &axum::Router) -> BTreeSet<String> {
    let full = format!("{router:?}");
    let debug = full
        .strip_prefix("Router { path_router: ")
        .and_then(|rest| rest.split(", fallback_router: ").next())
        .unwrap_or_else(|| panic!("unexpected Router Debug output; has axum changed it? {full}"));
    let mut paths = BTreeSet::new();
    for (at, _) in debug.match_indices("RouteId(") {
        let rest = &debug[at..];
        let Some(quoted) = rest.find("): \"").map(|i| &rest[i + 4..]) else { continue };
        let path = &quoted[..quoted.find('"').expect("closing quote")];
        if !path.contains("__private__axum") {
            paths.insert(path.to_string());
        }
    }
    assert!(!paths.is_empty(), "no paths found in the Router's Debug output; has axum changed it? {full}");
    paths
}

/// A concrete path for a route: each `{name}` filled with a value no static segment uses.
fn concrete(path: &str) -> String {
    let holes = path.matches('{').count();
    routes::path(path, &vec!["zz-probe"; holes])
}

/// Whether `method` on `path` reaches a handler (anything but the method-not-allowed fallback).
async fn serves(router: &axum::Router, method: &Method, path: &str) -> bool {
    let request = Request::builder()
        .method(method.clone())
        .uri(concrete(path))
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    response.status() != StatusCode::METHOD_NOT_ALLOWED
}

async fn served(router: &axum::Router) -> BTreeSet<(String, String)> {
    let mut served = BTreeSet::new();
    for path in registered_paths(router) {
        for method in &METHODS {
            if serves(router, method, &path).await {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    served
}

#[tokio::test]
async fn router_serves_exactly_the_route_table() {
    // A route of method `ANY` is served for every method.
    let table: BTreeSet<(String, String)> = routes::ALL
        .iter()
        .flat_map(|r| {
            let methods: Vec<String> = match r.method {
                "ANY" => METHODS.iter().map(Method::to_string).collect(),
                method => vec![method.to_string()],
            };
            methods.into_iter().map(|m| (m, r.path.to_string()))
        })
        .collect();
    let any = routes::ALL.iter().filter(|r| r.method == "ANY").count();
    assert_eq!(table.len(), routes::ALL.len() + any * (METHODS.len() - 1), "routes::ALL lists a route twice");
    let served = served(&app().await).await;
    let unlisted: Vec<_> = served.difference(&table).collect();
    let unmounted: Vec<_> = table.difference(&served).collect();
    assert!(unlisted.is_empty(), "served by the Router but missing from routes::ALL: {unlisted:?}");
    assert!(unmounted.is_empty(), "in routes::ALL but not served: {unmounted:?}");
}

#[tokio::test]
async fn the_probe_sees_a_route_mounted_beside_the_table() {
    let extra = app().await.route("/api/unlisted/{id}", axum::routing::delete(|| async { "" }));
    let served = served(&extra).await;
    assert!(served.contains(&("DELETE".to_string(), "/api/unlisted/{id}".to_string())), "{served:?}");
}
