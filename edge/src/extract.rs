//! Request extractors: JSON bodies, path parameters and query strings that fail as clean 4xx in
//! the JSON envelope (never 500, never plain text), the authenticated caller (bearer token, or
//! access cookie with a CSRF check on mutations), and the client IP used as the rate-limit
//! identity.

use crate::app::{AppState, ClientIpSource};
use crate::cookies::{self, Names};
use crate::csrf;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use burstflare_core::model::WorkspaceView;
use burstflare_core::{Actor, Code, Error};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body. An empty body reads as `{}`; a non-JSON content type is 415; malformed JSON is
/// 400 `invalid_json`; wrong types, missing or unknown fields are 400 `invalid_body`; too large is
/// 413 `payload_too_large`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(Code::PayloadTooLarge, "Request body is too large")
            } else {
                ApiError::new(Code::InvalidBody, "Could not read the request body")
            }
        })?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
        if body != b"{}" {
            let is_json = content_type
                .as_deref()
                .map(|ct| ct.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"));
            if is_json != Some(true) {
                return Err(ApiError::new(Code::UnsupportedMediaType, "Send JSON with content-type: application/json"));
            }
        }
        let value = serde_json::from_slice(body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => ApiError::new(Code::InvalidBody, e.to_string()),
                _ => ApiError::new(Code::InvalidJson, format!("Malformed JSON: {e}")),
            }
        })?;
        Ok(ApiJson(value))
    }
}

/// A path parameter; one that does not decode (bad percent-encoding, invalid UTF-8) is 400
/// `invalid_path` in the JSON envelope.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(e) => Err(rejection(e.status(), Code::InvalidPath, e.body_text())),
        }
    }
}

/// A query string; a malformed one (wrong type, unknown or repeated parameter) is 400
/// `invalid_query` in the JSON envelope.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(rejection(e.status(), Code::InvalidQuery, e.body_text())),
        }
    }
}

/// A client's mistake is a 400 with `code`; a rejection that is ours (a route declared without
/// the parameter it reads) is a 500 with the cause in the log.
fn rejection(status: StatusCode, code: Code, message: String) -> ApiError {
    if status.is_server_error() {
        ApiError::from(Error::internal(format!("extractor misconfigured: {message}")))
    } else {
        ApiError::new(code, message)
    }
}

/// Where the presented access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Bearer,
    Cookie,
}

/// The credential of a request: a bearer token, or the access cookie named `access_cookie`.
pub fn credential(headers: &HeaderMap, access_cookie: &str) -> Option<(String, CredentialSource)> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
        return (!token.is_empty()).then(|| (token.to_string(), CredentialSource::Bearer));
    }
    cookies::get(headers, access_cookie).map(|t| (t, CredentialSource::Cookie))
}

/// The cookie names (and `Secure`) for a request: prefixed over https or when forced.
pub fn cookie_names(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Names {
    Names::new(state.force_secure_cookies || is_https(headers, uri))
}

/// The authenticated caller of a request. A cookie-authenticated mutation must also carry the
/// CSRF token of the cookie's own sign-in (see [`crate::csrf`]).
pub struct Authed(pub Actor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, source) = request_credential(parts, state)?;
        let actor = state.service.authenticate(&token).await?;
        check_csrf(parts, state, source, &actor)?;
        Ok(Authed(actor))
    }
}

/// [`Authed`], with the caller's current workspace as they see it, read with the token in one
/// query (`GET /api/auth/me`).
pub struct AuthedWithWorkspace(pub Actor, pub WorkspaceView);

impl FromRequestParts<AppState> for AuthedWithWorkspace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, source) = request_credential(parts, state)?;
        let (actor, workspace) = state.service.authenticate_with_workspace(&token).await?;
        check_csrf(parts, state, source, &actor)?;
        Ok(AuthedWithWorkspace(actor, workspace))
    }
}

fn request_credential(parts: &Parts, state: &AppState) -> Result<(String, CredentialSource), ApiError> {
    let names = cookie_names(state, &parts.headers, &parts.uri);
    credential(&parts.headers, names.access).ok_or_else(ApiError::unauthorized)
}

fn check_csrf(parts: &Parts, state: &AppState, source: CredentialSource, actor: &Actor) -> Result<(), ApiError> {
    if source == CredentialSource::Cookie {
        csrf::check(&state.csrf, &parts.method, &parts.headers, &actor.family_id)?;
    }
    Ok(())
}

/// The client's IP as the rate-limit identity (`anonymous` when it cannot be told).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = match state.client_ip {
            ClientIpSource::CfConnectingIp => {
                parts.headers.get("cf-connecting-ip").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
            }
            ClientIpSource::ForwardedFor { trusted_hops } => {
                forwarded_for(&parts.headers, trusted_hops).or_else(|| peer(parts))
            }
            ClientIpSource::Peer => peer(parts),
        };
        Ok(ClientIp(ip.filter(|ip| !ip.is_empty()).unwrap_or_else(|| "anonymous".to_string())))
    }
}

/// The address our `trusted_hops`-th proxy saw, counting from the right of `x-forwarded-for`
/// (all its lines, in order): proxies append, so entries left of it are whatever the client
/// sent. With fewer entries than hops, the left-most (added by a trusted proxy) is taken.
pub fn forwarded_for(headers: &HeaderMap, trusted_hops: usize) -> Option<String> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let index = entries.len().saturating_sub(trusted_hops.max(1));
    entries.get(index).map(|e| (*e).to_owned())
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
pub fn is_https(headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https") || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(lines: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_static(line));
        }
        headers
    }

    #[test]
    fn forwarded_for_counts_trusted_hops_from_the_right() {
        let spoofed = xff(&["6.6.6.6, 10.0.0.7"]);
        assert_eq!(forwarded_for(&spoofed, 1).as_deref(), Some("10.0.0.7"));
        assert_eq!(forwarded_for(&spoofed, 0).as_deref(), Some("10.0.0.7"), "0 hops reads as 1");
        let two = xff(&["6.6.6.6, 10.0.0.7", "192.168.1.1"]);
        assert_eq!(forwarded_for(&two, 1).as_deref(), Some("192.168.1.1"));
        assert_eq!(forwarded_for(&two, 2).as_deref(), Some("10.0.0.7"));
        assert_eq!(forwarded_for(&xff(&["10.0.0.7"]), 3).as_deref(), Some("10.0.0.7"));
        assert_eq!(forwarded_for(&xff(&[" , "]), 1), None);
        assert_eq!(forwarded_for(&HeaderMap::new(), 1), None);
    }
}
