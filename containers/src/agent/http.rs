//! Small pieces every route shares: the response body type, JSON and error responses, and the
//! secret check every request passes first.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use subtle::ConstantTimeEq;

/// Every response body: a buffered one for the agent's own answers, a streamed one for previews.
pub type Body = BoxBody<Bytes, hyper::Error>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

pub(crate) fn empty() -> Body {
    full(Bytes::new())
}

pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(full(value.to_string()))
        .expect("a valid response")
}

/// An error answer: `{"error": message, "code": code}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message, "code": code }))
}

/// Whether the request carries the agent's secret (compared in constant time).
pub(crate) fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(given) = headers.get(burstflare_core::ports::AGENT_SECRET_HEADER) else {
        return false;
    };
    let (given, secret) = (given.as_bytes(), secret.as_bytes());
    !secret.is_empty() && given.len() == secret.len() && bool::from(given.ct_eq(secret))
}

/// The value of `name` in a query string, if present.
pub(crate) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, "s3cret"));
        headers.insert(burstflare_core::ports::AGENT_SECRET_HEADER, "s3cre".parse().unwrap());
        assert!(!authorized(&headers, "s3cret"));
        headers.insert(burstflare_core::ports::AGENT_SECRET_HEADER, "s3cret".parse().unwrap());
        assert!(authorized(&headers, "s3cret"));
        assert!(!authorized(&headers, ""));
    }

    #[test]
    fn query_params_are_found_by_name() {
        assert_eq!(query_param(Some("cols=80&rows=24"), "rows"), Some("24"));
        assert_eq!(query_param(Some("cols=80"), "rows"), None);
        assert_eq!(query_param(None, "rows"), None);
    }
}
