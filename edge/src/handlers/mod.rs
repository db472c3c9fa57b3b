//! Route handlers, one module per area of the API, plus the pieces they share: rate limiting with
//! its headers, and sign-in responses that also set browser cookies.

pub mod admin;
pub mod auth;
pub mod builds;
pub mod device;
pub mod health;
pub mod runtime;
pub mod sessions;
pub mod snapshots;
pub mod templates;
pub mod workspaces;

use crate::app::AppState;
use crate::cookies::{self, Names};
use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::{SignInPayload, RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
use burstflare_core::rate::{RateDecision, RateScope};
use burstflare_core::service::SignIn;
use burstflare_core::values::ClientKind;
use burstflare_core::Code;
use std::future::Future;

/// Counts the request against `scope` for `ip`; refuses with 429 when over the limit, otherwise
/// runs `handler`. Either way (success, error or 429) the response carries the
/// `x-burstflare-rate-limit-*` headers.
pub async fn rate_limited<F>(state: &AppState, scope: RateScope, ip: &str, handler: F) -> Response
where
    F: Future<Output = Result<Response, ApiError>>,
{
    let decision = match state.service.rate_limit(scope, ip).await {
        Ok(decision) => decision,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut response = if decision.allowed {
        handler.await.unwrap_or_else(IntoResponse::into_response)
    } else {
        let message = format!("Rate limit exceeded for {}", scope.name());
        ApiError::new(Code::RateLimited, message).into_response()
    };
    rate_headers(response.headers_mut(), &decision);
    response
}

fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(d.limit));
    headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(d.remaining));
    if let Ok(v) = HeaderValue::from_str(&d.reset_at.to_iso()) {
        headers.insert(RATE_LIMIT_RESET, v);
    }
    if !d.allowed {
        headers.insert("retry-after", HeaderValue::from(d.retry_after_seconds));
    }
}

/// The sign-in payload; for browser sign-ins, also the access cookies (named by `names`) and the
/// sign-in's CSRF token.
pub fn sign_in_response(state: &AppState, sign_in: SignIn, names: Names) -> Response {
    let browser = sign_in.client == ClientKind::Browser;
    let csrf = browser.then(|| state.csrf.token(&sign_in.family_id));
    let payload = SignInPayload {
        user: crate::mapping::user(&sign_in.user),
        workspace: crate::mapping::workspace(&sign_in.workspace),
        token: sign_in.access.expose().to_string(),
        token_kind: sign_in.client.as_str().to_string(),
        expires_at: sign_in.access_expires_at.to_iso(),
        refresh_token: sign_in.refresh.expose().to_string(),
        refresh_expires_at: sign_in.refresh_expires_at.to_iso(),
        csrf_token: csrf.clone(),
    };
    let mut response = Json(payload).into_response();
    if let Some(csrf) = csrf {
        let config = state.service.config();
        cookies::set_sign_in_cookies(
            response.headers_mut(),
            names,
            (sign_in.access.expose(), config.access_ttl_seconds),
            (sign_in.refresh.expose(), config.refresh_ttl_seconds),
            &csrf,
        );
    }
    response
}

/// Parses the optional `kind` of a sign-in request (default browser).
pub fn client_kind(kind: Option<&str>) -> Result<ClientKind, ApiError> {
    kind.map(ClientKind::parse).transpose().map(|k| k.unwrap_or(ClientKind::Browser)).map_err(ApiError::from)
}
