//! Session routes: create, list, show with events, events, start (waiting for the runtime, or
//! `?wait=false` for a 202 while it boots), stop, restart, delete; and the usage report.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::mapping;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{
    CreateSessionRequest, RuntimeTokenResponse, SessionDetailResponse, SessionEventsResponse, SessionResponse,
    SessionsResponse, StartQuery, UsageDto, UsageResponse,
};
use burstflare_core::ids::{SessionId, TemplateId};
use burstflare_core::model::Session;
use burstflare_core::service::{SessionView, RUNTIME_SECONDS, SNAPSHOT_BYTES};

fn one(view: &SessionView) -> Json<SessionResponse> {
    Json(SessionResponse { session: mapping::session(view) })
}

/// The session after a lifecycle call, with the name of its template.
async fn answer(state: &AppState, session: Session) -> ApiResult<Json<SessionResponse>> {
    let view = state.service.view_of(session).await?;
    Ok(one(&view))
}

pub async fn list(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<SessionsResponse>> {
    let views = state.service.list_sessions(&actor).await?;
    Ok(Json(SessionsResponse { sessions: views.iter().map(mapping::session).collect() }))
}

pub async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<CreateSessionRequest>,
) -> ApiResult<Json<SessionResponse>> {
    let view = state.service.create_session(&actor, &req.name, &TemplateId::from_raw(req.template_id)).await?;
    Ok(one(&view))
}

pub async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SessionDetailResponse>> {
    let id = SessionId::from_raw(id);
    let (view, events) = state.service.show_session(&actor, &id).await?;
    let snapshots = state.service.list_snapshots(&actor, &id).await?;
    Ok(Json(SessionDetailResponse {
        session: mapping::session(&view),
        events: events.iter().map(mapping::session_event).collect(),
        snapshots: mapping::snapshots(&snapshots),
    }))
}

pub async fn events(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SessionEventsResponse>> {
    let events = state.service.session_events(&actor, &SessionId::from_raw(id)).await?;
    Ok(Json(SessionEventsResponse { events: events.iter().map(mapping::session_event).collect() }))
}

pub async fn start(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    let starting = state.service.begin_start(&actor, &SessionId::from_raw(id)).await?;
    if query.wait == Some(false) {
        let view = state.service.view_of(starting.clone()).await?;
        in_background(state, starting);
        return Ok((StatusCode::ACCEPTED, one(&view)).into_response());
    }
    let session = state.service.finish_start(starting).await?;
    Ok(answer(&state, session).await?.into_response())
}

/// Boots the session after the response went out: natively on the runtime's tasks; in the
/// Worker on the session's Durable Object (the start route is served there), which stays
/// active while the boot awaits its container.
fn in_background(state: AppState, starting: Session) {
    let boot = async move {
        if let Err(error) = state.service.finish_start(starting).await {
            tracing::warn!(%error, "a background start did not complete");
        }
    };
    #[cfg(not(target_arch = "wasm32"))]
    tokio::spawn(boot);
    #[cfg(target_arch = "wasm32")]
    worker::wasm_bindgen_futures::spawn_local(boot);
}

/// Runs `work` to its end even when the client goes away. Natively it runs on a task of its own,
/// since hyper drops a handler's future when its connection closes, which would cut a stop's save
/// off halfway and leave the session `stopping`; the handler only waits for it. In the Worker the
/// request's own invocation runs it.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn to_completion<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    match tokio::spawn(work).await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled only when the runtime shuts down, which ends this handler too.
        Err(_) => std::future::pending().await,
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) async fn to_completion<T>(work: impl std::future::Future<Output = T>) -> T {
    work.await
}

pub async fn stop(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SessionResponse>> {
    let service = state.service.clone();
    let session = to_completion(async move { service.stop_session(&actor, &SessionId::from_raw(id)).await }).await?;
    answer(&state, session).await
}

pub async fn restart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SessionResponse>> {
    let service = state.service.clone();
    let restart = async move { service.restart_session(&actor, &SessionId::from_raw(id)).await };
    let session = to_completion(restart).await?;
    answer(&state, session).await
}

pub async fn delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SessionResponse>> {
    let session = state.service.delete_session(&actor, &SessionId::from_raw(id)).await?;
    answer(&state, session).await
}

pub async fn runtime_token(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RuntimeTokenResponse>> {
    let (secret, token) = state.service.issue_runtime_token(&actor, &SessionId::from_raw(id)).await?;
    Ok(Json(RuntimeTokenResponse {
        token: secret.expose().to_string(),
        session_id: token.session_id.map(|s| s.to_string()).unwrap_or_default(),
        expires_at: token.expires_at.to_iso(),
    }))
}

pub async fn usage(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<UsageResponse>> {
    let (totals, plan) = state.service.usage(&actor).await?;
    let total = |kind: &str| totals.iter().find(|(k, _)| k == kind).map_or(0, |(_, v)| *v);
    Ok(Json(UsageResponse {
        usage: UsageDto {
            runtime_seconds: total(RUNTIME_SECONDS),
            template_builds: total("template_build"),
            snapshot_bytes: total(SNAPSHOT_BYTES),
        },
        limits: mapping::limits(plan.limits()),
        plan: plan.as_str().to_string(),
    }))
}
