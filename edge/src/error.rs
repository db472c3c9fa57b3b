//! The one place where errors become HTTP: a `core::Error`'s code fixes its kind, each kind maps to
//! one status, the body is `{ "error", "code" }`, and the cause (a port's own error, or the text of
//! a 500) goes to the log, never to the client.

#[cfg(not(target_arch = "wasm32"))]
use axum::http::header::CONNECTION;
#[cfg(not(target_arch = "wasm32"))]
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::ErrorBody;
use burstflare_core::{Code, Error, ErrorKind};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
}

/// The HTTP status of each kind of error.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ApiError {
    /// An error answered at the edge itself (routing, extractors, rate limits).
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error::new(code, message).into()
    }
    pub fn not_found() -> Self {
        Self::new(Code::NotFound, "Not found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(Code::MethodNotAllowed, "Method not allowed")
    }
    pub fn unauthorized() -> Self {
        Error::invalid_token().into()
    }
}

impl From<Error> for ApiError {
    /// A client's mistake (4xx) is logged at debug; a server-side failure (5xx) at error, with its
    /// cause. The client gets the code and our own message (for a 500 a fixed one).
    fn from(e: Error) -> Self {
        let status = status(e.kind());
        let cause = e.cause().map(ToString::to_string);
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), code = %e.code, error = %e.message, cause, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), code = %e.code, error = %e.message, cause, "request refused");
        }
        let message = if e.kind() == ErrorKind::Internal { "Internal error".to_string() } else { e.message };
        Self { status, code: e.code, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.message, code: self.code.as_str().to_string() };
        #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
        let mut response = (self.status, Json(body)).into_response();
        // A body refused for its size was not read to its end, so the connection cannot carry another
        // request: say so, or a keep-alive client may send its next request on a connection being
        // closed. (Natively only: on the Worker the platform owns the connection.)
        #[cfg(not(target_arch = "wasm32"))]
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::error::PortError;

    /// The README's "Error codes" table: (code, status) of each row.
    fn documented() -> Vec<(String, u16)> {
        let readme = include_str!("../../README.md");
        let section = readme.split("\n## Error codes\n").nth(1).expect("README has an \"Error codes\" section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let mut rows: Vec<(String, u16)> = section
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("| `")?.split('|');
                let code = cells.next()?.trim().trim_end_matches('`').to_string();
                let status = cells.next()?.trim().parse().ok()?;
                Some((code, status))
            })
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let mut codes: Vec<(String, u16)> =
            Code::ALL.iter().map(|c| (c.as_str().to_string(), status(c.kind()).as_u16())).collect();
        codes.sort();
        assert_eq!(documented(), codes, "README.md's error code table and core::Code differ");
    }

    #[test]
    fn port_failures_answer_our_message_not_the_adapters() {
        let adapter = "D1_ERROR: network connection lost (CHECK constraint failed: ok > 0)";
        for (port, status) in [
            (PortError::Unavailable(adapter.into()), 503),
            (PortError::Conflict(adapter.into()), 409),
            (PortError::Other(adapter.into()), 500),
        ] {
            let e = ApiError::from(Error::from(port));
            assert_eq!(e.status.as_u16(), status);
            assert!(!e.message.contains("D1") && !e.message.contains("CHECK"), "{}", e.message);
        }
    }
}
