//! The one place where errors become HTTP: `core::Error` kinds map to statuses, the body is
//! `{ "error", "code" }`, and the cause of a 500 goes to the log, never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use burstflare_api::ErrorBody;
use burstflare_core::{Error, ErrorKind};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed")
    }
    pub fn unauthorized() -> Self {
        Error::invalid_token().into()
    }
}

impl From<Error> for ApiError {
    /// A client's mistake (4xx) is logged at debug; a server-side failure (5xx) at error, with
    /// its cause, which the client never sees for a 500.
    fn from(e: Error) -> Self {
        let status = match e.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unavailable => {
                tracing::error!(code = e.code, error = %e.message, "dependency unavailable");
                return Self::new(StatusCode::SERVICE_UNAVAILABLE, e.code, e.message);
            }
            ErrorKind::Internal => {
                tracing::error!(error = %e.message, "internal error");
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error");
            }
        };
        tracing::debug!(status = status.as_u16(), code = e.code, error = %e.message, "request refused");
        Self::new(status, e.code, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.message, code: self.code.to_string() };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
