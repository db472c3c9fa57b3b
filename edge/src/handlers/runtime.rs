//! The API side of a session's runtime: its command's logs, what `ssh` needs (the pinned host
//! key and the WebSocket path), and preview links.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, Authed};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;
use burstflare_api::routes::{self, path};
use burstflare_api::{LogsQuery, PreviewResponse, SshInfoResponse};
use burstflare_core::ids::SessionId;
use burstflare_core::Code;

/// Logs are shown up to this many bytes (the default is 64 KiB).
const MAX_LOG_BYTES: usize = 1024 * 1024;
const DEFAULT_LOG_BYTES: usize = 64 * 1024;

/// `GET /api/sessions/{id}/logs?tail=N`: the last N bytes of the command's output, as text.
pub async fn logs(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> ApiResult<impl IntoResponse> {
    let tail = query.tail.unwrap_or(DEFAULT_LOG_BYTES);
    if tail == 0 || tail > MAX_LOG_BYTES {
        let message = format!("tail must be between 1 and {MAX_LOG_BYTES} bytes");
        return Err(crate::error::ApiError::new(Code::InvalidQuery, message));
    }
    let text = state.service.session_logs(&actor, &SessionId::from_raw(id), tail).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// `GET /api/sessions/{id}/ssh`.
pub async fn ssh_info(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SshInfoResponse>> {
    let info = state.service.ssh_info(&actor, &SessionId::from_raw(id)).await?;
    let id = info.session.id.as_str();
    Ok(Json(SshInfoResponse {
        session_id: id.to_string(),
        host_key: info.host_key,
        host_key_alias: format!("burstflare-{id}"),
        path: path(routes::RUNTIME_SSH, &[id]),
    }))
}

/// `POST /api/sessions/{id}/preview`: a link to open the preview in a browser.
pub async fn preview_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Json<PreviewResponse>> {
    let (session, pass, expires) = state.service.issue_preview_link(&actor, &SessionId::from_raw(id)).await?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let scheme = if state.force_secure_cookies { "https" } else { "http" };
    let url = match &state.preview_domain {
        Some(domain) => {
            let authority = preview_authority(&session.id, domain, host);
            format!("{scheme}://{authority}/?burstflare_preview={pass}")
        }
        None => path(routes::RUNTIME_PREVIEW_ROOT, &[session.id.as_str()]),
    };
    Ok(Json(PreviewResponse { url, expires_at: expires.to_iso() }))
}

/// The preview origin of a session: `<uuid>.<domain>` (with the port the API was reached on).
pub fn preview_authority(session: &SessionId, domain: &str, api_host: Option<&str>) -> String {
    let uuid = session.as_str().rsplit('_').next().unwrap_or_default();
    let port = api_host.and_then(|h| h.rsplit_once(':')).map(|(_, p)| p).filter(|p| p.parse::<u16>().is_ok());
    match port {
        Some(port) => format!("{uuid}.{domain}:{port}"),
        None => format!("{uuid}.{domain}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0b7f3c2e-8c1a-4e59-9d2f-3f6a1b2c4d5e";

    #[test]
    fn the_authority_keeps_the_apis_port() {
        let id = SessionId::from_raw(format!("ses_{UUID}"));
        assert_eq!(
            preview_authority(&id, "preview.localhost", Some("127.0.0.1:8787")),
            format!("{UUID}.preview.localhost:8787")
        );
        assert_eq!(preview_authority(&id, "p.example.com", Some("api.example.com")), format!("{UUID}.p.example.com"));
    }
}
