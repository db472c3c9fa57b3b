//! The application state shared by every handler, and the Router built from `ports::routes::ALL`:
//! each route of the table paired with its handler, nothing mounted beside it (plus JSON 404/405
//! fallbacks and the request body limit).

use crate::csrf::CsrfKey;
use crate::error::ApiError;
use crate::handlers::{admin, auth, builds, device, health, runtime, sessions, snapshots, templates, workspaces};
#[cfg(not(target_arch = "wasm32"))]
use crate::native::runtime as runtime_routes;
#[cfg(target_arch = "wasm32")]
use crate::worker_entry::runtime_routes;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use burstflare_api::routes::{self, Route};
use burstflare_core::Service;
use std::sync::Arc;

/// JSON bodies above this size are refused with 413 before they are parsed.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// What `GET /api/health` reports about the deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// `sqlite`, `memory` or `d1`.
    pub storage: &'static str,
    pub runtime_available: bool,
    pub containers_enabled: bool,
}

/// Where the client's IP (the rate-limit identity) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The TCP peer address (native server without a proxy).
    Peer,
    /// The `x-forwarded-for` entry added by our `trusted_hops`-th proxy, counting from the right
    /// (behind trusted reverse proxies; 1 is the right-most, added by the proxy next to us).
    ForwardedFor { trusted_hops: usize },
    /// `cf-connecting-ip` (on Cloudflare).
    CfConnectingIp,
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub deployment: Deployment,
    pub client_ip: ClientIpSource,
    /// Mark cookies `Secure` (and `__Host-`) even when the request itself does not look like https.
    pub force_secure_cookies: bool,
    /// The secret the browsers' CSRF tokens are derived from.
    pub csrf: CsrfKey,
    /// Previews are served at `<session uuid>.<this domain>` (natively `preview.localhost`);
    /// `None` serves them only on the API's origin, sandboxed.
    pub preview_domain: Option<Arc<str>>,
}

/// The API router over a state: every route of `routes::ALL`, each with its handler, and nothing
/// else (the `router_serves_exactly_the_route_table` test checks what the Router really serves).
///
/// # Panics
/// When a route of `routes::ALL` has no handler in [`handler`] (every test that builds a Router
/// fails, so such a route cannot ship).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes::ALL {
        let handler = handler(route).unwrap_or_else(|| panic!("{} {} has no handler", route.method, route.path));
        router = router.route(route.path, handler);
    }
    router
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state)
}

/// The handler of one route of the table, mounted for the table's own method (so the two cannot
/// disagree); `None` for a route this list does not know.
fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    use routes::*;
    if route.method == "ANY" {
        return match route.path {
            RUNTIME_PREVIEW => Some(axum::routing::any(runtime_routes::preview)),
            RUNTIME_PREVIEW_ROOT => Some(axum::routing::any(runtime_routes::preview_root)),
            _ => None,
        };
    }
    let filter = MethodFilter::try_from(Method::from_bytes(route.method.as_bytes()).ok()?).ok()?;
    Some(match (route.method, route.path) {
        ("GET", HEALTH) => on(filter, health::health),
        ("POST", REGISTER) => on(filter, auth::register),
        ("POST", LOGIN) => on(filter, auth::login),
        ("POST", REFRESH) => on(filter, auth::refresh),
        ("POST", LOGOUT) => on(filter, auth::logout),
        ("GET", ME) => on(filter, auth::me),
        ("POST", SWITCH_WORKSPACE) => on(filter, auth::switch_workspace),
        ("POST", DEVICE_START) => on(filter, device::start),
        ("POST", DEVICE_APPROVE) => on(filter, device::approve),
        ("POST", DEVICE_EXCHANGE) => on(filter, device::exchange),
        ("GET", DEVICE_PAGE) => on(filter, device::page),
        ("GET", WORKSPACES) => on(filter, workspaces::list),
        ("GET", MEMBERS) => on(filter, workspaces::members),
        ("POST", INVITES) => on(filter, workspaces::invite),
        ("POST", ACCEPT_INVITE) => on(filter, workspaces::accept),
        ("POST", MEMBER_ROLE) => on(filter, workspaces::set_role),
        ("DELETE", MEMBER) => on(filter, workspaces::remove_member),
        ("DELETE", INVITE) => on(filter, workspaces::revoke_invite),
        ("POST", LEAVE) => on(filter, workspaces::leave),
        ("POST", PLAN) => on(filter, workspaces::set_plan),
        ("GET", AUDIT) => on(filter, workspaces::audit),
        ("GET", TEMPLATES) => on(filter, templates::list),
        ("POST", TEMPLATES) => on(filter, templates::create),
        ("GET", TEMPLATE) => on(filter, templates::show),
        ("DELETE", TEMPLATE) => on(filter, templates::delete),
        ("POST", TEMPLATE_ARCHIVE) => on(filter, templates::archive),
        ("POST", TEMPLATE_RESTORE) => on(filter, templates::restore),
        ("POST", TEMPLATE_PROMOTE) => on(filter, templates::promote),
        ("POST", VERSIONS) => on(filter, templates::add_version),
        ("PUT", BUNDLE) => on(filter, templates::upload_bundle),
        ("GET", BUNDLE) => on(filter, templates::download_bundle),
        ("POST", BUNDLE_GRANT) => on(filter, templates::create_grant),
        ("PUT", UPLOAD) => on(filter, templates::upload_with_grant),
        ("GET", BUILDS) => on(filter, builds::list),
        ("POST", BUILD_RETRY_DEAD) => on(filter, builds::retry_dead_lettered),
        ("GET", BUILD) => on(filter, builds::show),
        ("GET", BUILD_LOG) => on(filter, builds::log),
        ("POST", BUILD_RETRY) => on(filter, builds::retry),
        ("GET", RELEASES) => on(filter, templates::releases),
        ("GET", SESSIONS) => on(filter, sessions::list),
        ("POST", SESSIONS) => on(filter, sessions::create),
        ("GET", SESSION) => on(filter, sessions::show),
        ("DELETE", SESSION) => on(filter, sessions::delete),
        ("GET", SESSION_EVENTS) => on(filter, sessions::events),
        ("POST", SESSION_START) => on(filter, sessions::start),
        ("POST", SESSION_STOP) => on(filter, sessions::stop),
        ("POST", SESSION_RESTART) => on(filter, sessions::restart),
        ("POST", SESSION_RUNTIME_TOKEN) => on(filter, sessions::runtime_token),
        ("GET", SESSION_LOGS) => on(filter, runtime::logs),
        ("GET", SESSION_SSH) => on(filter, runtime::ssh_info),
        ("POST", SESSION_PREVIEW) => on(filter, runtime::preview_link),
        ("GET", RUNTIME_TERMINAL) => on(filter, runtime_routes::terminal),
        ("GET", RUNTIME_SSH) => on(filter, runtime_routes::ssh),
        ("GET", SNAPSHOTS) => on(filter, snapshots::list),
        ("POST", SNAPSHOTS) => on(filter, snapshots::create),
        ("DELETE", SNAPSHOT) => on(filter, snapshots::delete),
        ("PUT", SNAPSHOT_CONTENT) => on(filter, snapshots::upload),
        ("GET", SNAPSHOT_CONTENT) => on(filter, snapshots::download),
        ("POST", SNAPSHOT_GRANT) => on(filter, snapshots::create_grant),
        ("POST", SNAPSHOT_SAVE) => on(filter, snapshots::save),
        ("POST", SNAPSHOT_RESTORE) => on(filter, snapshots::restore),
        ("GET", USAGE) => on(filter, sessions::usage),
        ("GET", ADMIN_REPORT) => on(filter, admin::report),
        ("POST", ADMIN_RECONCILE) => on(filter, admin::reconcile),
        _ => return None,
    })
}
