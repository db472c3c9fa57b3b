//! BurstFlare's edge: one axum [`Router`](axum::Router) serving the JSON API for both shapes
//! (native server and Cloudflare Worker). Handlers are thin: parse the request into a `ports` DTO,
//! call `core::Service`, map the result or the error. Adapters are chosen in one place per target
//! (`native::compose` for the server binary).
#![forbid(unsafe_code)]

pub mod app;
mod cookies;
mod error;
mod extract;
mod handlers;
mod mapping;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

pub use app::{router, AppState, ClientIpSource, Deployment};
