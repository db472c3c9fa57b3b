//! Accounts and sign-in routes: register, login, refresh, logout, me, switch-workspace.

use super::{client_kind, rate_limited, session_response};
use crate::app::AppState;
use crate::cookies;
use crate::error::{ApiError, ApiResult};
use crate::extract::{check_csrf, is_https, ApiJson, Authed, ClientIp};
use crate::mapping;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::rate::RateScope;
use burstflare_core::service::auth::Registration;
use burstflare_ports::{
    LoginRequest, MeResponse, OkResponse, RefreshRequest, RegisterRequest, SwitchWorkspaceRequest, REFRESH_COOKIE,
};

pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Result<ApiJson<RegisterRequest>, ApiError>,
) -> Response {
    rate_limited(&state, RateScope::Register, &ip, async {
        let ApiJson(req) = body?;
        let client = client_kind(req.kind.as_deref())?;
        let input = Registration::parse(&req.email, &req.password, req.name.as_deref(), client)?;
        let sign_in = state.service.register(input).await?;
        Ok(session_response(&state, sign_in, is_https(&headers, &uri)))
    })
    .await
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Result<ApiJson<LoginRequest>, ApiError>,
) -> Response {
    rate_limited(&state, RateScope::Login, &ip, async {
        let ApiJson(req) = body?;
        let client = client_kind(req.kind.as_deref())?;
        let workspace = req.workspace_id.map(WorkspaceId::from_raw);
        let sign_in = state.service.login(&req.email, &req.password, client, workspace).await?;
        Ok(session_response(&state, sign_in, is_https(&headers, &uri)))
    })
    .await
}

/// The refresh token comes from the body, or from the refresh cookie (then CSRF applies).
pub async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Result<ApiJson<RefreshRequest>, ApiError>,
) -> Response {
    rate_limited(&state, RateScope::Refresh, &ip, async {
        let ApiJson(req) = body?;
        let token = match req.refresh_token {
            Some(token) => token,
            None => {
                let token = cookies::get(&headers, REFRESH_COOKIE).ok_or_else(ApiError::unauthorized)?;
                check_csrf(&method, &headers)?;
                token
            }
        };
        let sign_in = state.service.refresh(&token).await?;
        Ok(session_response(&state, sign_in, is_https(&headers, &uri)))
    })
    .await
}

pub async fn logout(State(state): State<AppState>, Authed(actor): Authed, headers: HeaderMap, uri: Uri) -> Response {
    match state.service.logout(&actor).await {
        Ok(()) => {
            let mut response = Json(OkResponse { ok: true }).into_response();
            cookies::clear_session(response.headers_mut(), is_https(&headers, &uri) || state.force_secure_cookies);
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn me(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<MeResponse>> {
    let (user, workspace, membership) = state.service.me(&actor).await?;
    Ok(Json(MeResponse {
        user: mapping::user(&user),
        workspace: mapping::workspace(&workspace),
        membership: mapping::membership(&membership),
    }))
}

pub async fn switch_workspace(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(req): ApiJson<SwitchWorkspaceRequest>,
) -> ApiResult<Response> {
    let target = WorkspaceId::from_raw(req.workspace_id);
    let sign_in = state.service.switch_workspace(&actor, &target).await?;
    Ok(session_response(&state, sign_in, is_https(&headers, &uri)))
}
