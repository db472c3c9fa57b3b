//! The one error type every command returns: a human message plus a stable machine code, printed
//! by the binary as `error: <message> (<code>)` before it exits with status 1.
//!
//! Server errors keep the `{error, code}` envelope of the API as they are; errors the CLI finds
//! itself (no sign_in, unreachable server, bad config) get codes of their own, listed here.

use burstflare_api::ErrorBody;
use std::fmt;

/// Result of every command and helper in this crate.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// What went wrong, for a person (`message`) and for a script (`code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub code: String,
    /// The HTTP status when the error came from the server.
    pub status: Option<u16>,
}

impl CliError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { message: message.into(), code: code.into(), status: None }
    }

    /// An error answer of the API.
    pub fn api(status: u16, body: ErrorBody) -> Self {
        Self { message: body.error, code: body.code, status: Some(status) }
    }

    /// An error answer that is not the API's envelope (a proxy's error page, say).
    pub fn http(status: u16) -> Self {
        Self {
            message: format!("request failed (HTTP {status})"),
            code: format!("http_{status}"),
            status: Some(status),
        }
    }

    pub fn not_signed_in() -> Self {
        Self::new("not_signed_in", "not signed in; run `burstflare auth login`")
    }

    pub fn sign_in_expired() -> Self {
        Self::new("sign_in_expired", "your sign_in expired; run `burstflare auth login`")
    }

    pub fn unreachable(url: &str, cause: impl fmt::Display) -> Self {
        Self::new("unreachable", format!("cannot reach BurstFlare at {url}: {cause}"))
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new("config", message)
    }

    /// True when the server answered with this HTTP status.
    pub fn has_status(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    /// True when the server refused the request itself (4xx other than rate limiting), as
    /// opposed to the request not getting through.
    pub fn is_refusal(&self) -> bool {
        self.status.is_some_and(|s| (400..500).contains(&s) && s != 429)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_message_then_code() {
        let e = CliError::api(
            401,
            ErrorBody { error: "Invalid email or password".into(), code: "invalid_credentials".into() },
        );
        assert_eq!(e.to_string(), "Invalid email or password (invalid_credentials)");
        assert!(e.has_status(401) && e.is_refusal());
        assert!(!CliError::http(429).is_refusal());
        assert!(!CliError::not_signed_in().is_refusal());
    }
}
