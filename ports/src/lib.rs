//! The driving port: BurstFlare's public HTTP API contract, shared by the edge (which serves it),
//! the CLI and the tests (which call it). Route paths, request and response bodies, and the error
//! envelope live here and nowhere else. No logic.
#![forbid(unsafe_code)]

pub mod dto;
pub mod routes;
pub mod templates;

pub use dto::*;
pub use templates::*;

/// The API version this contract describes, reported by `GET /api/health`.
pub const API_VERSION: &str = "1";

/// Name of the cookie carrying a browser's access token.
pub const SESSION_COOKIE: &str = "burstflare_session";
/// Name of the cookie carrying a browser's refresh token (sent only to the auth routes).
pub const REFRESH_COOKIE: &str = "burstflare_refresh";
/// Name of the double-submit CSRF cookie, readable by the page's script.
pub const CSRF_COOKIE: &str = "burstflare_csrf";
/// Header that must echo the CSRF cookie on cookie-authenticated mutations.
pub const CSRF_HEADER: &str = "x-burstflare-csrf";
/// Rate-limit headers on the rate-limited routes.
pub const RATE_LIMIT_LIMIT: &str = "x-burstflare-rate-limit-limit";
pub const RATE_LIMIT_REMAINING: &str = "x-burstflare-rate-limit-remaining";
pub const RATE_LIMIT_RESET: &str = "x-burstflare-rate-limit-reset";
