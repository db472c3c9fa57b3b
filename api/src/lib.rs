//! The driving port: BurstFlare's public HTTP API contract, shared by the edge (which serves it),
//! the CLI and the tests (which call it). Route paths, request and response bodies, and the error
//! envelope live here and nowhere else. No logic.
#![forbid(unsafe_code)]

pub mod dto;
pub mod routes;
pub mod sessions;
pub mod snapshots;
pub mod templates;

pub use dto::*;
pub use sessions::*;
pub use snapshots::*;
pub use templates::*;

/// The API version this contract describes, reported by `GET /api/health`.
pub const API_VERSION: &str = "1";

/// Name of the cookie carrying a browser's access token over plain http.
pub const ACCESS_COOKIE: &str = "burstflare_access";
/// Name of the cookie carrying a browser's refresh token over plain http (sent only to the auth
/// routes).
pub const REFRESH_COOKIE: &str = "burstflare_refresh";
/// Name of the cookie carrying the sign-in's CSRF token to the page over plain http (readable by
/// the page's script; the server never trusts it, it recomputes the token).
pub const CSRF_COOKIE: &str = "burstflare_csrf";
/// [`ACCESS_COOKIE`] when cookies are `Secure`: `__Host-` makes browsers refuse it unless it was
/// set by this very host, over https, with `Path=/` and no `Domain`, so a sibling subdomain
/// cannot plant one.
pub const SECURE_ACCESS_COOKIE: &str = "__Host-burstflare_access";
/// [`REFRESH_COOKIE`] when cookies are `Secure`. Scoped to `/api/auth`, it cannot be `__Host-`
/// (that needs `Path=/`); a planted one is refused anyway, because a cookie refresh needs the
/// CSRF token of the refresh token's own sign-in.
pub const SECURE_REFRESH_COOKIE: &str = "__Secure-burstflare_refresh";
/// [`CSRF_COOKIE`] when cookies are `Secure`.
pub const SECURE_CSRF_COOKIE: &str = "__Host-burstflare_csrf";
/// Header that must carry the sign-in's CSRF token on cookie-authenticated mutations.
pub const CSRF_HEADER: &str = "x-burstflare-csrf";
/// Rate-limit headers on the rate-limited routes.
pub const RATE_LIMIT_LIMIT: &str = "x-burstflare-rate-limit-limit";
pub const RATE_LIMIT_REMAINING: &str = "x-burstflare-rate-limit-remaining";
pub const RATE_LIMIT_RESET: &str = "x-burstflare-rate-limit-reset";
