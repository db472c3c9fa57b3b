//! The application state shared by every handler, and the Router that mounts every route of
//! `ports::routes` (plus JSON 404/405 fallbacks and the request body limit).

use crate::error::ApiError;
use crate::handlers::{auth, device, health, workspaces};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
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
    /// The first `x-forwarded-for` entry (behind a trusted reverse proxy).
    ForwardedFor,
    /// `cf-connecting-ip` (on Cloudflare).
    CfConnectingIp,
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub deployment: Deployment,
    pub client_ip: ClientIpSource,
    /// Mark cookies `Secure` even when the request itself does not look like https.
    pub force_secure_cookies: bool,
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
        .route("/device", get(device::page))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state)
}
