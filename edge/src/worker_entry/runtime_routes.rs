//! The runtime routes in the Worker. The Worker's fetch entry hands every
//! `/runtime/sessions/{id}/…` request to the session's Durable Object, which serves it with the
//! same Router: the caller is checked exactly as natively (who, which role, which session), and a
//! permitted connection is answered with a 503 until the Containers driver forwards it.

use crate::app::AppState;
use crate::error::ApiError;
use crate::runtime_auth;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use burstflare_core::ids::SessionId;
use burstflare_core::service::RuntimeUse;

async fn connect(state: AppState, id: String, headers: HeaderMap, uri: Uri, use_: RuntimeUse) -> Response {
    let id = SessionId::from_raw(id);
    let caller = match runtime_auth::caller(&state, &headers, &uri, &id).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    match state.service.connect_runtime(&caller, &id, use_).await {
        // The Worker has no driver yet, so `connect_runtime` answers runtime_unavailable itself;
        // a driver without a way to forward would land here.
        Ok(_) => ApiError::from(burstflare_core::Error::new(
            burstflare_core::Code::RuntimeUnavailable,
            "This deployment cannot reach session runtimes yet",
        ))
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn terminal(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    connect(state, id, headers, uri, RuntimeUse::Terminal).await
}

pub async fn ssh(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    connect(state, id, headers, uri, RuntimeUse::Ssh).await
}

pub async fn preview_root(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    connect(state, id, headers, uri, RuntimeUse::Preview).await
}

pub async fn preview(
    State(state): State<AppState>,
    Path((id, _path)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    connect(state, id, headers, uri, RuntimeUse::Preview).await
}
