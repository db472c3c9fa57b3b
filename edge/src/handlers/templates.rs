//! Template routes: templates, versions, bundle uploads (direct and through a grant) and
//! downloads, promotion and releases.

use super::rate_limited;
use crate::app::AppState;
use crate::body::{response_body, RequestBody};
use crate::error::ApiResult;
use crate::extract::{is_https, ApiJson, ApiPath, ApiQuery, Authed, ClientIp};
use crate::mapping;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::routes;
use burstflare_api::{
    AddVersionRequest, CreateTemplateRequest, DeleteTemplateResponse, PromoteRequest, ReleasesResponse,
    TemplateResponse, TemplatesResponse, UploadGrantDto, UploadGrantRequest, UploadGrantResponse, VersionResponse,
};
use burstflare_core::ids::{TemplateId, VersionId};
use burstflare_core::model::{Build, TemplateVersion};
use burstflare_core::rate::RateScope;
use burstflare_core::service::GrantUpload;
use serde::Deserialize;

type Ids = ApiPath<(String, String)>;

fn ids(t: String, v: String) -> (TemplateId, VersionId) {
    (TemplateId::from_raw(t), VersionId::from_raw(v))
}

pub(super) fn content_type(headers: &HeaderMap) -> String {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_string()
}

/// The version and its (re)queued build after an upload.
fn version_response((version, build): (TemplateVersion, Build)) -> Response {
    Json(VersionResponse { template_version: mapping::version(&version, Some(&build)), build: mapping::build(&build) })
        .into_response()
}

pub async fn list(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<TemplatesResponse>> {
    let views = state.service.list_templates(&actor).await?;
    Ok(Json(TemplatesResponse { templates: views.iter().map(mapping::template).collect() }))
}

pub async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<CreateTemplateRequest>,
) -> ApiResult<Json<TemplateResponse>> {
    let view = state.service.create_template(&actor, &req.name, req.description.as_deref()).await?;
    Ok(Json(TemplateResponse { template: mapping::template(&view) }))
}

pub async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TemplateResponse>> {
    let view = state.service.show_template(&actor, &TemplateId::from_raw(id)).await?;
    Ok(Json(TemplateResponse { template: mapping::template(&view) }))
}

pub async fn delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeleteTemplateResponse>> {
    let id = TemplateId::from_raw(id);
    let (versions, builds, releases) = state.service.delete_template(&actor, &id).await?;
    Ok(Json(DeleteTemplateResponse {
        ok: true,
        template_id: id.to_string(),
        deleted_versions: versions,
        deleted_builds: builds,
        deleted_releases: releases,
    }))
}

pub async fn archive(s: State<AppState>, a: Authed, id: ApiPath<String>) -> ApiResult<Json<TemplateResponse>> {
    set_archived(s, a, id, true).await
}

pub async fn restore(s: State<AppState>, a: Authed, id: ApiPath<String>) -> ApiResult<Json<TemplateResponse>> {
    set_archived(s, a, id, false).await
}

async fn set_archived(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    archived: bool,
) -> ApiResult<Json<TemplateResponse>> {
    let view = state.service.set_archived(&actor, &TemplateId::from_raw(id), archived).await?;
    Ok(Json(TemplateResponse { template: mapping::template(&view) }))
}

pub async fn promote(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PromoteRequest>,
) -> ApiResult<Json<burstflare_api::PromoteResponse>> {
    let (view, release) =
        state.service.promote(&actor, &TemplateId::from_raw(id), &VersionId::from_raw(req.version_id)).await?;
    Ok(Json(burstflare_api::PromoteResponse {
        template: mapping::template(&view),
        release: mapping::release(&release),
    }))
}

pub async fn add_version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddVersionRequest>,
) -> ApiResult<Json<VersionResponse>> {
    let id = TemplateId::from_raw(id);
    let (version, build) =
        state.service.add_version(&actor, &id, &req.version, &req.manifest, req.notes.as_deref()).await?;
    Ok(Json(VersionResponse {
        template_version: mapping::version(&version, Some(&build)),
        build: mapping::build(&build),
    }))
}

/// `PUT …/bundle`: the body is the tar.gz, streamed to storage.
pub async fn upload_bundle(
    State(state): State<AppState>,
    ApiPath((t, v)): Ids,
    headers: HeaderMap,
    Authed(actor): Authed,
    body: Body,
) -> Response {
    let identity = actor.user.id.to_string();
    rate_limited(&state, RateScope::BundleUpload, &identity, async {
        let (t, v) = ids(t, v);
        let mut body = RequestBody(body);
        let uploaded = state.service.upload_bundle(&actor, &t, &v, &content_type(&headers), &mut body).await?;
        Ok(version_response(uploaded))
    })
    .await
}

pub async fn download_bundle(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((t, v)): Ids,
) -> ApiResult<Response> {
    let (t, v) = ids(t, v);
    let (version, blob) = state.service.download_bundle(&actor, &t, &v).await?;
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_TYPE, header(&blob.info.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(blob.info.size));
    let disposition = format!("attachment; filename=\"{}.tar.gz\"", version.label);
    headers.insert(CONTENT_DISPOSITION, header(&disposition));
    Ok((headers, response_body(blob)).into_response())
}

pub async fn create_grant(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((t, v)): Ids,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(req): ApiJson<UploadGrantRequest>,
) -> ApiResult<Json<UploadGrantResponse>> {
    let (t, v) = ids(t, v);
    let (grant, secret) = state.service.create_upload_grant(&actor, &t, &v, &req.content_type, req.bytes).await?;
    let url = upload_url(&state, &headers, &uri, secret.expose());
    Ok(Json(UploadGrantResponse {
        upload_grant: UploadGrantDto {
            id: grant.id.to_string(),
            url,
            method: "PUT".to_string(),
            expires_at: grant.expires_at.to_iso(),
            content_type: grant.content_type,
            bytes: grant.bytes.unwrap_or_default(),
        },
    }))
}

/// The absolute URL a grant's holder uploads to.
pub(super) fn upload_url(state: &AppState, headers: &HeaderMap, uri: &Uri, secret: &str) -> String {
    let scheme = if is_https(headers, uri) || state.force_secure_cookies { "https" } else { "http" };
    let host = uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{host}{}", routes::path(routes::UPLOAD, &[secret]))
}

/// `PUT /api/uploads/{grant}`: no token; the grant in the path is the permission. A bundle
/// grant answers the version and its build; a snapshot grant `{"target": "snapshot", …}`.
pub async fn upload_with_grant(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(grant): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    rate_limited(&state, RateScope::SignedUpload, &ip, async {
        let mut body = RequestBody(body);
        let digest = super::snapshots::expected_digest(&headers);
        let uploaded =
            state.service.upload_through_grant(&grant, &content_type(&headers), digest.as_deref(), &mut body).await?;
        Ok(match uploaded {
            GrantUpload::Bundle { version, build } => version_response((version, *build)),
            GrantUpload::Snapshot(snapshot) => super::snapshots::uploaded(&state, snapshot).await?,
        })
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleasesQuery {
    template_id: Option<String>,
}

pub async fn releases(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReleasesQuery>,
) -> ApiResult<Json<ReleasesResponse>> {
    let template = q.template_id.map(TemplateId::from_raw);
    let releases = state.service.list_releases(&actor, template.as_ref()).await?;
    Ok(Json(ReleasesResponse { releases: releases.iter().map(mapping::release).collect() }))
}
