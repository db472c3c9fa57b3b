//! Device authorization routes (start, approve, exchange), and `/device`, the approval page's old
//! address, which redirects (keeping `user_code`) to the web app's approval page, the
//! `verification_uri` the API returns.

use super::{rate_limited, sign_in_response};
use crate::app::AppState;
use crate::cookies::Names;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Authed, ClientIp};
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{DeviceApproveRequest, DeviceExchangeRequest, DeviceStartResponse, OkResponse};
use burstflare_core::rate::RateScope;
use serde::Deserialize;

pub async fn start(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Response {
    rate_limited(&state, RateScope::DeviceStart, &ip, async {
        let s = state.service.device_start().await?;
        Ok(Json(DeviceStartResponse {
            device_code: s.device_code.expose().to_string(),
            user_code: s.user_code,
            verification_uri: s.verification_uri,
            verification_uri_complete: s.verification_uri_complete,
            expires_in: s.expires_in,
            expires_at: s.expires_at.to_iso(),
            interval: s.interval,
        })
        .into_response())
    })
    .await
}

pub async fn approve(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<DeviceApproveRequest>,
) -> ApiResult<Json<OkResponse>> {
    state.service.device_decide(&actor, &req.user_code, req.approve.unwrap_or(true)).await?;
    Ok(Json(OkResponse { ok: true }))
}

pub async fn exchange(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DeviceExchangeRequest>,
) -> ApiResult<Response> {
    let sign_in = state.service.device_exchange(&req.device_code).await?;
    Ok(sign_in_response(&state, sign_in, Names::new(false)))
}

#[derive(Deserialize)]
pub struct PageQuery {
    user_code: Option<String>,
}

/// 308 to the app's approval page (the configured verification path), with the code if given.
pub async fn page(State(state): State<AppState>, ApiQuery(q): ApiQuery<PageQuery>) -> Response {
    let path = &state.service.config().device_verification_path;
    let to = match q.user_code {
        Some(code) => format!("{path}?user_code={}", query_value(&code)),
        None => path.clone(),
    };
    (StatusCode::PERMANENT_REDIRECT, [(LOCATION, to)]).into_response()
}

/// Percent-encodes all but RFC 3986's unreserved characters, so a value stays one query value.
fn query_value(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::query_value;

    #[test]
    fn encodes_all_but_unreserved_characters() {
        assert_eq!(query_value("WXYZ-BCDF"), "WXYZ-BCDF");
        assert_eq!(query_value("<a&b=c é>"), "%3Ca%26b%3Dc%20%C3%A9%3E");
    }
}
