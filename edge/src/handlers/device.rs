//! Device authorization routes (start, approve, exchange) and the `/device` page where a
//! signed-in person approves a code shown by the CLI.

use super::{rate_limited, sign_in_response};
use crate::app::AppState;
use crate::cookies::Names;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Authed, ClientIp};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
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

/// A small HTML page: shows the code (escaped) and approves it with the browser sign-in.
pub async fn page(ApiQuery(q): ApiQuery<PageQuery>) -> Response {
    let code = html_escape(q.user_code.as_deref().unwrap_or(""));
    let html = DEVICE_PAGE.replace("{{code}}", &code);
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// Escapes the five HTML-significant characters.
pub fn html_escape(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

const DEVICE_PAGE: &str = include_str!("device.html");

#[cfg(test)]
mod tests {
    use super::html_escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(html_escape("<b a=\"x\">'&"), "&lt;b a=&quot;x&quot;&gt;&#39;&amp;");
    }
}
