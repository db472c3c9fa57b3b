//! The runtime routes of the native server: the terminal and SSH WebSockets and the previews,
//! each checked (who is calling, may they use this session this way) on every request and every
//! WebSocket before anything reaches the session's agent, then forwarded to it
//! ([`forward`]). Previews are served from their own origin ([`preview_host`]) so a previewed
//! app, which is arbitrary code, cannot act as the user against the API.

mod forward;
pub mod preview_host;

use crate::app::AppState;
use crate::error::ApiError;
use crate::runtime_auth as auth;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use burstflare_core::ids::SessionId;
use burstflare_core::service::RuntimeConnection;
use burstflare_core::service::RuntimeUse;
use burstflare_core::Code;
use forward::ForwardError;
use tokio::sync::oneshot;

/// `GET /runtime/sessions/{id}/terminal` (WebSocket).
pub async fn terminal(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    websocket(state, id, request, RuntimeUse::Terminal, "/terminal").await
}

/// `GET /runtime/sessions/{id}/ssh` (WebSocket carrying the SSH stream).
pub async fn ssh(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    websocket(state, id, request, RuntimeUse::Ssh, "/ssh").await
}

async fn websocket(state: AppState, id: String, request: Request<Body>, use_: RuntimeUse, path: &str) -> Response {
    let id = SessionId::from_raw(id);
    let query = auth::query_without_token(request.uri());
    let agent_path = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    let connecting = connect_with(&state, &id, request.headers().clone(), request.uri().clone(), use_);
    let connection = match connecting.await {
        Ok(connection) => connection,
        Err(e) => return e.into_response(),
    };
    if !forward::is_upgrade(request.headers()) {
        return ApiError::new(Code::UpgradeRequired, "This route takes a WebSocket upgrade").into_response();
    }
    let agent_ended = watch_agent(&state, &connection);
    relay(&state, &connection, request, &agent_path, Some(agent_ended)).await
}

/// A sender that, when the agent's side of a terminal or SSH connection ends first (a shell's
/// `exit`, or an agent that died), has the session's runtime checked at once, so a killed agent
/// fails its session and frees its quota slot now, not at the next reconcile.
fn watch_agent(state: &AppState, connection: &RuntimeConnection) -> oneshot::Sender<()> {
    let (sender, ended) = oneshot::channel();
    let (state, session) = (state.clone(), connection.session.clone());
    tokio::spawn(async move {
        if ended.await.is_err() {
            return;
        }
        match state.service.check_runtime_of(&session.workspace_id, &session.id).await {
            Ok(true) => tracing::warn!(session = %session.id, "the session's agent died: the session is failed"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, session = %session.id, "checking an ended runtime failed"),
        }
    });
    sender
}

/// `ANY /runtime/sessions/{id}/preview/`: the app's root (see [`preview`]).
pub async fn preview_root(State(state): State<AppState>, Path(id): Path<String>, request: Request<Body>) -> Response {
    preview_path(state, id, String::new(), request).await
}

/// `ANY /runtime/sessions/{id}/preview/{*path}`: the preview on the API's origin for API clients,
/// sandboxed (its own opaque origin in a browser) and never allowed to set cookies here.
pub async fn preview(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    preview_path(state, id, path, request).await
}

async fn preview_path(state: AppState, id: String, path: String, request: Request<Body>) -> Response {
    let id = SessionId::from_raw(id);
    let connecting = connect_with(&state, &id, request.headers().clone(), request.uri().clone(), RuntimeUse::Preview);
    let connection = match connecting.await {
        Ok(connection) => connection,
        Err(e) => return e.into_response(),
    };
    let query = auth::query_without_token(request.uri());
    let agent_path = if query.is_empty() { format!("/preview/{path}") } else { format!("/preview/{path}?{query}") };
    let mut response = relay(&state, &connection, request, &agent_path, None).await;
    crate::runtime_headers::confine_api_origin_preview(response.headers_mut());
    response
}

async fn connect_with(
    state: &AppState,
    id: &SessionId,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
    use_: RuntimeUse,
) -> Result<RuntimeConnection, ApiError> {
    let caller = auth::caller(state, &headers, &uri, id).await?;
    Ok(state.service.connect_runtime(&caller, id, use_).await?)
}

/// Forwards to the agent; an agent that does not answer is a 503 that says so, and a session
/// whose runtime turns out to have died is marked `failed` at once (not at the next reconcile).
pub(crate) async fn relay(
    state: &AppState,
    connection: &RuntimeConnection,
    request: Request<Body>,
    agent_path: &str,
    agent_ended: Option<oneshot::Sender<()>>,
) -> Response {
    let message = match forward::forward(&connection.endpoint, request, agent_path, agent_ended).await {
        Ok(response) => return response,
        Err(ForwardError::Timeout) => "The session's agent did not answer in time",
        Err(ForwardError::Unreachable(reason)) => {
            tracing::debug!(%reason, "agent unreachable");
            "The session's agent did not answer"
        }
    };
    if let Err(e) = state.service.check_runtime(&connection.session).await {
        tracing::warn!(error = %e, session = %connection.session.id, "checking an unreachable runtime failed");
    }
    ApiError::new(Code::AgentUnreachable, message).into_response()
}
