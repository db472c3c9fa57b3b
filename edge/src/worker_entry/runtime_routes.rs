//! The runtime routes in the Worker. The Worker's fetch entry hands every
//! `/runtime/sessions/{id}/…` request to the session's Durable Object, which serves it with the
//! same Router: the caller is checked exactly as natively (who, which role, which session, a
//! sleeping session woken by a permitted connect), then the request goes to the agent in the
//! object's container with the agent's secret and without the caller's credentials. A
//! WebSocket's 101 comes back as it is: the response's extensions carry the socket, and nothing
//! here rebuilds the response.

use super::agent_client;
use super::container_driver::ContainerDriver;
use crate::app::AppState;
use crate::error::ApiError;
use crate::runtime_auth;
use crate::runtime_headers::is_upgrade;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use burstflare_core::ids::SessionId;
use burstflare_core::service::RuntimeUse;
use burstflare_core::Code;
use std::sync::Arc;

async fn connect(state: AppState, id: String, request: Request<Body>, use_: RuntimeUse, path: String) -> Response {
    let id = SessionId::from_raw(id);
    let caller = match runtime_auth::caller(&state, request.headers(), request.uri(), &id).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let Some(driver) = request.extensions().get::<Arc<ContainerDriver>>().cloned() else {
        // Only a method workerd cannot hand to an object stays in the Worker (see routing).
        return ApiError::new(Code::MethodNotAllowed, "This method cannot reach a session").into_response();
    };
    let connection = match state.service.connect_runtime(&caller, &id, use_).await {
        Ok(connection) => connection,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if use_ != RuntimeUse::Preview && !is_upgrade(request.headers()) {
        return ApiError::new(Code::UpgradeRequired, "This route takes a WebSocket upgrade").into_response();
    }
    let Some((container, secret)) = driver.running(&id) else {
        return ApiError::new(Code::AgentUnreachable, "The session's container is not running").into_response();
    };
    let query = runtime_auth::query_without_token(request.uri());
    let agent_path = if query.is_empty() { path } else { format!("{path}?{query}") };
    match agent_client::forward(container, &secret, request, &agent_path).await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(error = %e, "agent unreachable");
            // As natively: a container that is gone fails its session now, not at the next beat.
            if let Err(e) = state.service.check_runtime(&connection.session).await {
                tracing::warn!(error = %e, "could not check the session's runtime");
            }
            ApiError::new(Code::AgentUnreachable, "The session's agent did not answer").into_response()
        }
    }
}

/// `GET /runtime/sessions/{id}/terminal` (WebSocket).
pub async fn terminal(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    connect(state, id, request, RuntimeUse::Terminal, "/terminal".into()).await
}

/// `GET /runtime/sessions/{id}/ssh` (WebSocket carrying the SSH stream).
pub async fn ssh(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    connect(state, id, request, RuntimeUse::Ssh, "/ssh".into()).await
}

/// `ANY /runtime/sessions/{id}/preview/`: the app's root (see [`preview`]).
pub async fn preview_root(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    preview_path(state, id, String::new(), request).await
}

/// `ANY /runtime/sessions/{id}/preview/{*path}`: sandboxed (its own opaque origin in a
/// browser) and never allowed to set cookies here, as natively.
pub async fn preview(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    preview_path(state, id, path, request).await
}

async fn preview_path(state: AppState, id: String, path: String, request: Request<Body>) -> Response {
    let mut response = connect(state, id, request, RuntimeUse::Preview, format!("/preview/{path}")).await;
    crate::runtime_headers::confine_api_origin_preview(response.headers_mut());
    response
}
