//! Request extractors: JSON bodies that fail as clean 4xx (never 500), the authenticated caller
//! (bearer token, or session cookie with a CSRF check on mutations), and the client IP used as the
//! rate-limit identity.

use crate::app::{AppState, ClientIpSource};
use crate::cookies;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use burstflare_core::Actor;
use burstflare_ports::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body. An empty body reads as `{}`; a non-JSON content type is 415; malformed JSON is
/// 400 `invalid_json`; wrong types, missing or unknown fields are 422 `invalid_body`; too large is 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "Request body is too large")
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", "Could not read the request body")
            }
        })?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
        if body != b"{}" {
            let is_json = content_type
                .as_deref()
                .map(|ct| ct.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"));
            if is_json != Some(true) {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send JSON with content-type: application/json",
                ));
            }
        }
        let value = serde_json::from_slice(body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()),
                _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("Malformed JSON: {e}")),
            }
        })?;
        Ok(ApiJson(value))
    }
}

/// Where the presented access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Bearer,
    Cookie,
}

/// The credential of a request: a bearer token, or the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<(String, CredentialSource)> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
        return (!token.is_empty()).then(|| (token.to_string(), CredentialSource::Bearer));
    }
    cookies::get(headers, SESSION_COOKIE).map(|t| (t, CredentialSource::Cookie))
}

/// Double-submit CSRF check for cookie-authenticated mutations: the header must echo the cookie.
pub fn check_csrf(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let cookie = cookies::get(headers, CSRF_COOKIE);
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (cookie, header) {
        (Some(c), Some(h)) if constant_time_eq(c.as_bytes(), h.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "Cookie-authenticated requests must echo the CSRF cookie in x-burstflare-csrf",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The authenticated caller of a request.
pub struct Authed(pub Actor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, source) = credential(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        if source == CredentialSource::Cookie {
            check_csrf(&parts.method, &parts.headers)?;
        }
        Ok(Authed(state.service.authenticate(&token).await?))
    }
}

/// The client's IP as the rate-limit identity (`anonymous` when it cannot be told).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts.headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim())
        };
        let ip = match state.client_ip {
            ClientIpSource::CfConnectingIp => header("cf-connecting-ip").map(str::to_owned),
            ClientIpSource::ForwardedFor => header("x-forwarded-for").map(str::to_owned).or_else(|| peer(parts)),
            ClientIpSource::Peer => peer(parts),
        };
        Ok(ClientIp(ip.filter(|ip| !ip.is_empty()).unwrap_or_else(|| "anonymous".to_string())))
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn peer(parts: &Parts) -> Option<String> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

#[cfg(target_arch = "wasm32")]
fn peer(_parts: &Parts) -> Option<String> {
    None
}

/// Whether the request reached us over https (directly or via a proxy that says so).
pub fn is_https(parts_headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    uri.scheme_str() == Some("https")
        || parts_headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}
