//! Snapshot routes: list and create a session's snapshots, upload content (streamed, directly or
//! through a grant created here), download it, delete a snapshot; save a running session's
//! persisted paths now and restore a snapshot into it.

use super::rate_limited;
use super::templates::{content_type, upload_url};
use crate::app::AppState;
use crate::body::{response_body, RequestBody};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::mapping;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{
    CreateSnapshotRequest, DeleteSnapshotResponse, SnapshotResponse, SnapshotUploadResponse, SnapshotsResponse,
    UploadGrantDto, UploadGrantRequest, UploadGrantResponse, CONTENT_SHA256_HEADER,
};
use burstflare_core::ids::{SessionId, SnapshotId};
use burstflare_core::model::Snapshot;
use burstflare_core::rate::RateScope;

type Ids = ApiPath<(String, String)>;

fn ids(session: String, snapshot: String) -> (SessionId, SnapshotId) {
    (SessionId::from_raw(session), SnapshotId::from_raw(snapshot))
}

/// The digest the client says the body has, if it sent one.
pub(super) fn expected_digest(headers: &HeaderMap) -> Option<String> {
    headers.get(CONTENT_SHA256_HEADER).map(|v| v.to_str().unwrap_or("?").to_string())
}

/// The snapshot as the API shows it, with whether it is now its session's latest.
async fn dto(state: &AppState, snapshot: &Snapshot) -> ApiResult<burstflare_api::SnapshotDto> {
    let latest = state.service.latest_snapshot_id(&snapshot.session_id).await?;
    Ok(mapping::snapshot(snapshot, latest.as_ref()))
}

/// The answer to a snapshot upload through a grant.
pub(super) async fn uploaded(state: &AppState, snapshot: Snapshot) -> ApiResult<Response> {
    let snapshot = dto(state, &snapshot).await?;
    Ok(Json(SnapshotUploadResponse { target: "snapshot".to_string(), snapshot }).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SnapshotsResponse>> {
    let list = state.service.list_snapshots(&actor, &SessionId::from_raw(id)).await?;
    Ok(Json(SnapshotsResponse {
        snapshots: mapping::snapshots(&list),
        latest_snapshot_id: list.latest.map(|id| id.to_string()),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CreateSnapshotRequest>,
) -> ApiResult<Json<SnapshotResponse>> {
    let snapshot = state.service.create_snapshot(&actor, &SessionId::from_raw(id), req.label.as_deref()).await?;
    Ok(Json(SnapshotResponse { snapshot: mapping::snapshot(&snapshot, None) }))
}

/// `PUT …/content`: the body is the archive, streamed to storage.
pub async fn upload(
    State(state): State<AppState>,
    ApiPath((session, snapshot)): Ids,
    headers: HeaderMap,
    Authed(actor): Authed,
    body: Body,
) -> Response {
    let identity = actor.user.id.to_string();
    rate_limited(&state, RateScope::SnapshotUpload, &identity, async {
        let (session, snapshot) = ids(session, snapshot);
        let mut body = RequestBody(body);
        let digest = expected_digest(&headers);
        let stored = state
            .service
            .upload_snapshot(&actor, &session, &snapshot, &content_type(&headers), digest.as_deref(), &mut body)
            .await?;
        Ok(Json(SnapshotResponse { snapshot: dto(&state, &stored).await? }).into_response())
    })
    .await
}

pub async fn download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((s, n)): Ids,
) -> ApiResult<Response> {
    let (session, snapshot) = ids(s, n);
    let (snapshot, blob) = state.service.download_snapshot(&actor, &session, &snapshot).await?;
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_TYPE, header(&blob.info.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(blob.info.size));
    let name: String =
        snapshot.id.as_str().chars().filter(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect();
    headers.insert(CONTENT_DISPOSITION, header(&format!("attachment; filename=\"{name}.snapshot\"")));
    if let Some(content) = &snapshot.content {
        headers.insert(CONTENT_SHA256_HEADER, header(&content.sha256));
    }
    Ok((headers, response_body(blob)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((s, n)): Ids,
) -> ApiResult<Json<DeleteSnapshotResponse>> {
    let (session, snapshot) = ids(s, n);
    state.service.delete_snapshot(&actor, &session, &snapshot).await?;
    Ok(Json(DeleteSnapshotResponse { ok: true, snapshot_id: snapshot.to_string() }))
}

/// `POST …/snapshots/save`: the runtime archives the persisted paths into a new snapshot, which
/// becomes the session's latest.
pub async fn save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CreateSnapshotRequest>,
) -> ApiResult<Json<SnapshotResponse>> {
    let service = state.service.clone();
    let save = async move { service.save_snapshot(&actor, &SessionId::from_raw(id), req.label.as_deref()).await };
    let snapshot = super::sessions::to_completion(save).await?;
    Ok(Json(SnapshotResponse { snapshot: dto(&state, &snapshot).await? }))
}

/// `POST …/snapshots/{id}/restore`: the snapshot replaces the running session's persisted paths.
pub async fn restore(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((s, n)): Ids,
) -> ApiResult<Json<SnapshotResponse>> {
    let (session, snapshot) = ids(s, n);
    let snapshot = state.service.restore_snapshot(&actor, &session, &snapshot).await?;
    Ok(Json(SnapshotResponse { snapshot: dto(&state, &snapshot).await? }))
}

pub async fn create_grant(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((s, n)): Ids,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(req): ApiJson<UploadGrantRequest>,
) -> ApiResult<Json<UploadGrantResponse>> {
    let (session, snapshot) = ids(s, n);
    let (grant, secret) =
        state.service.create_snapshot_grant(&actor, &session, &snapshot, &req.content_type, req.bytes).await?;
    Ok(Json(UploadGrantResponse {
        upload_grant: UploadGrantDto {
            id: grant.id.to_string(),
            url: upload_url(&state, &headers, &uri, secret.expose()),
            method: "PUT".to_string(),
            expires_at: grant.expires_at.to_iso(),
            content_type: grant.content_type,
            bytes: grant.bytes.unwrap_or_default(),
        },
    }))
}
