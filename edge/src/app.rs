//! The application state shared by every handler, and the Router that mounts every route of
//! `ports::routes` (plus JSON 404/405 fallbacks and the request body limit).

use crate::csrf::CsrfKey;
use crate::error::ApiError;
use crate::handlers::{auth, builds, device, health, templates, workspaces};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use burstflare_core::Service;
use burstflare_ports::routes;

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
}

/// The API router over a state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(routes::HEALTH, get(health::health))
        .route(routes::REGISTER, post(auth::register))
        .route(routes::LOGIN, post(auth::login))
        .route(routes::REFRESH, post(auth::refresh))
        .route(routes::LOGOUT, post(auth::logout))
        .route(routes::ME, get(auth::me))
        .route(routes::SWITCH_WORKSPACE, post(auth::switch_workspace))
        .route(routes::DEVICE_START, post(device::start))
        .route(routes::DEVICE_APPROVE, post(device::approve))
        .route(routes::DEVICE_EXCHANGE, post(device::exchange))
        .route(routes::WORKSPACES, get(workspaces::list))
        .route(routes::MEMBERS, get(workspaces::members))
        .route(routes::INVITES, post(workspaces::invite))
        .route(routes::ACCEPT_INVITE, post(workspaces::accept))
        .route(routes::MEMBER_ROLE, post(workspaces::set_role))
        .route(routes::PLAN, post(workspaces::set_plan))
        .route(routes::AUDIT, get(workspaces::audit))
        .route(routes::TEMPLATES, get(templates::list).post(templates::create))
        .route(routes::TEMPLATE, get(templates::show).delete(templates::delete))
        .route(routes::TEMPLATE_ARCHIVE, post(templates::archive))
        .route(routes::TEMPLATE_RESTORE, post(templates::restore))
        .route(routes::TEMPLATE_PROMOTE, post(templates::promote))
        .route(routes::VERSIONS, post(templates::add_version))
        .route(routes::BUNDLE, put(templates::upload_bundle).get(templates::download_bundle))
        .route(routes::BUNDLE_GRANT, post(templates::create_grant))
        .route(routes::UPLOAD, put(templates::upload_with_grant))
        .route(routes::BUILDS, get(builds::list))
        .route(routes::BUILD_RETRY_DEAD, post(builds::retry_dead_lettered))
        .route(routes::BUILD, get(builds::show))
        .route(routes::BUILD_LOG, get(builds::log))
        .route(routes::BUILD_RETRY, post(builds::retry))
        .route(routes::RELEASES, get(templates::releases))
        .route("/device", get(device::page))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state)
}
