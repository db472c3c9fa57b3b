//! Build routes: list, show, log, retry (one, or every dead-lettered build).

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, Authed};
use crate::mapping;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{BuildResponse, BuildsResponse};
use burstflare_core::ids::BuildId;

pub async fn list(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<BuildsResponse>> {
    let builds = state.service.list_builds(&actor).await?;
    Ok(Json(BuildsResponse { builds: builds.iter().map(mapping::build).collect() }))
}

pub async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BuildResponse>> {
    let build = state.service.get_build(&actor, &BuildId::from_raw(id)).await?;
    Ok(Json(BuildResponse { build: mapping::build(&build) }))
}

pub async fn log(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let text = state.service.build_log(&actor, &BuildId::from_raw(id)).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

pub async fn retry(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BuildResponse>> {
    let build = state.service.retry_build(&actor, &BuildId::from_raw(id)).await?;
    Ok(Json(BuildResponse { build: mapping::build(&build) }))
}

pub async fn retry_dead_lettered(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<BuildsResponse>> {
    let builds = state.service.retry_dead_lettered(&actor).await?;
    Ok(Json(BuildsResponse { builds: builds.iter().map(mapping::build).collect() }))
}
