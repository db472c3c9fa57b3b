//! Accounts and sign-in routes: register, login, refresh, logout, me, switch-workspace.

use super::{client_kind, rate_limited, sign_in_response};
use crate::app::AppState;
use crate::cookies;
use crate::csrf;
use crate::error::{ApiError, ApiResult};
use crate::extract::{cookie_names, ApiJson, Authed, AuthedWithWorkspace, ClientIp};
use crate::mapping;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{LoginRequest, MeResponse, OkResponse, RefreshRequest, RegisterRequest, SwitchWorkspaceRequest};
use burstflare_core::ids::{FamilyId, WorkspaceId};
use burstflare_core::rate::RateScope;
use burstflare_core::service::auth::Registration;

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
        Ok(sign_in_response(&state, sign_in, cookie_names(&state, &headers, &uri)))
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
        Ok(sign_in_response(&state, sign_in, cookie_names(&state, &headers, &uri)))
    })
    .await
}

/// The refresh token comes from the body, or from the refresh cookie; then the CSRF token of the
/// refresh token's own sign-in is required, checked before anything is written.
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
        let names = cookie_names(&state, &headers, &uri);
        let sign_in = match req.refresh_token {
            Some(token) => state.service.refresh(&token).await?,
            None => {
                let token = cookies::get(&headers, names.refresh).ok_or_else(ApiError::unauthorized)?;
                let guard = |family: &FamilyId| csrf::check(&state.csrf, &method, &headers, family);
                state.service.refresh_guarded(&token, guard).await?
            }
        };
        Ok(sign_in_response(&state, sign_in, names))
    })
    .await
}

pub async fn logout(State(state): State<AppState>, Authed(actor): Authed, headers: HeaderMap, uri: Uri) -> Response {
    match state.service.logout(&actor).await {
        Ok(()) => {
            let mut response = Json(OkResponse { ok: true }).into_response();
            cookies::clear_sign_in_cookies(response.headers_mut(), cookie_names(&state, &headers, &uri));
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The caller, their current workspace and their membership there: one read, the token's own.
pub async fn me(AuthedWithWorkspace(actor, workspace): AuthedWithWorkspace) -> Json<MeResponse> {
    Json(MeResponse {
        user: mapping::user(&actor.user),
        workspace: mapping::workspace(&workspace),
        membership: mapping::membership(&actor.membership),
    })
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
    Ok(sign_in_response(&state, sign_in, cookie_names(&state, &headers, &uri)))
}
