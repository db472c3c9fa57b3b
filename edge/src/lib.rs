//! BurstFlare's edge: one axum [`Router`](axum::Router) serving the JSON API for both shapes
//! (native server and Cloudflare Worker). Handlers are thin: parse the request into a `ports` DTO,
//! call `core::Service`, map the result or the error. Adapters are chosen in one place per target
//! (`native::compose` for the server binary, `worker_entry::events::compose` for the Worker).
#![forbid(unsafe_code)]

pub mod app;
mod body;
mod cookies;
pub mod csrf;
mod error;
mod extract;
mod handlers;
pub mod jobs;
mod mapping;
mod runtime_auth;
mod runtime_headers;
mod web_page;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

mod worker_entry;

pub use app::{router, AppState, ClientIpSource, Deployment};
pub use csrf::CsrfKey;
