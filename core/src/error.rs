//! The one error type of the use cases: a kind (mapped to an HTTP status by the edge), a stable
//! machine `code`, and a human message. Port failures convert into it via `From`.

use std::fmt;

/// What went wrong, in terms a caller can act on; the edge maps each kind to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed or invalid input (400).
    BadRequest,
    /// Missing, wrong or expired credentials (401).
    Unauthorized,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// No such thing, or not visible to the caller (404).
    NotFound,
    /// The request conflicts with current state, including lost optimistic races (409).
    Conflict,
    /// The thing existed but is no longer usable (410).
    Gone,
    /// A body larger than allowed (413).
    PayloadTooLarge,
    /// A body of a content type the route does not take (415).
    UnsupportedMediaType,
    /// Too many requests in the current window (429).
    RateLimited,
    /// A dependency (database, blob store) is unavailable (503).
    Unavailable,
    /// A bug or an unexpected failure (500); the message is not shown to clients.
    Internal,
}

/// A use-case error with a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal", message)
    }
    /// The generic 401 for any credential that does not resolve to a live sign-in.
    pub fn invalid_token() -> Self {
        Self::unauthorized("unauthorized", "Unauthorized")
    }
    /// The generic 403 for a role that is too low for the action.
    pub fn insufficient_role() -> Self {
        Self::forbidden("insufficient_permissions", "Insufficient permissions")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Error {}

/// The error contract shared by every storage-like port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// A guarded write found the row changed, or a uniqueness rule was violated; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backing service could not be reached or refused the call; nothing was written.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The client's body could not be read (malformed framing, connection dropped); nothing was
    /// stored.
    #[error("unreadable body: {0}")]
    BodyRead(String),
    /// A streamed body went past the limit it was given; nothing was stored.
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    /// Anything else (corrupt row, bug); nothing was written.
    #[error("{0}")]
    Other(String),
}

impl From<PortError> for Error {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Conflict(m) => Error::new(
                ErrorKind::Conflict,
                "conflict",
                format!("The resource changed concurrently, try again ({m})"),
            ),
            PortError::Unavailable(m) => {
                Error::new(ErrorKind::Unavailable, "storage_unavailable", format!("Storage unavailable: {m}"))
            }
            PortError::TooLarge { limit } => Error::new(
                ErrorKind::PayloadTooLarge,
                "payload_too_large",
                format!("Body exceeds the {limit}-byte limit"),
            ),
            PortError::BodyRead(m) => {
                Error::bad_request("invalid_body", format!("Could not read the request body: {m}"))
            }
            PortError::Other(m) => Error::internal(m),
        }
    }
}
