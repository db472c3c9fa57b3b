//! Who is calling a runtime route: a bearer access token, a runtime token in the `token` query
//! parameter (browsers cannot set headers on a WebSocket), or the access cookie, which counts
//! only on a request whose `Origin` is the server's own (so a page of another site cannot open a
//! terminal with the visitor's cookie). Shared by both shapes: natively the edge then forwards to
//! the session's agent; in the Worker, the session's Durable Object.

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{cookie_names, credential, CredentialSource};
use axum::http::{header, HeaderMap, Uri};
use burstflare_core::ids::SessionId;
use burstflare_core::service::RuntimeCaller;
use burstflare_core::Code;

/// The query parameter that carries a runtime token.
pub const TOKEN_PARAM: &str = "token";

pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    id: &SessionId,
) -> Result<RuntimeCaller, ApiError> {
    if let Some(token) = query_token(uri) {
        let access = state.service.runtime_access(&token, id).await?;
        return Ok(access.caller());
    }
    let names = cookie_names(state, headers, uri);
    let (token, source) = credential(headers, names.access).ok_or_else(ApiError::unauthorized)?;
    if source == CredentialSource::Cookie && !same_origin(headers) {
        return Err(ApiError::new(Code::CsrfFailed, "A cookie opens a session only from this server's own pages"));
    }
    let actor = state.service.authenticate(&token).await?;
    Ok(RuntimeCaller::from(&actor))
}

/// Whether the request's `Origin` is the host it was sent to (any scheme: TLS may end at a proxy).
fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (header_str(headers, header::ORIGIN), header_str(headers, header::HOST)) else {
        return false;
    };
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn query_token(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    let prefix = format!("{TOKEN_PARAM}=");
    query.split('&').find_map(|pair| pair.strip_prefix(prefix.as_str())).map(str::to_string)
}

/// The query the agent gets: the caller's, minus the runtime token.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub fn query_without_token(uri: &Uri) -> String {
    let Some(query) = uri.query() else { return String::new() };
    let prefix = format!("{TOKEN_PARAM}=");
    query.split('&').filter(|pair| !pair.starts_with(&prefix) && !pair.is_empty()).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query_and_never_forwarded() {
        let uri: Uri = "/runtime/sessions/s/terminal?cols=80&token=bfrt_x&rows=24".parse().unwrap();
        assert_eq!(query_token(&uri).as_deref(), Some("bfrt_x"));
        assert_eq!(query_without_token(&uri), "cols=80&rows=24");
        assert_eq!(query_without_token(&"/x".parse().unwrap()), "");
    }

    #[test]
    fn only_the_servers_own_origin_counts() {
        let headers = |origin: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, "127.0.0.1:8787".parse().unwrap());
            if !origin.is_empty() {
                h.insert(header::ORIGIN, origin.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers("http://127.0.0.1:8787")));
        assert!(same_origin(&headers("https://127.0.0.1:8787")));
        for other in ["http://evil.example", "http://127.0.0.1:9999", "null", ""] {
            assert!(!same_origin(&headers(other)), "{other}");
        }
    }
}
