//! The Cloudflare Worker (wasm32): its event handlers (`events`), the `SessionRuntime`
//! Durable Object that serialises each session's transitions (`session_runtime`), and the pure
//! decision of which requests go to that object (`routing`, compiled and tested on every target).

mod routing;

#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
mod logging;
#[cfg(target_arch = "wasm32")]
pub mod runtime_routes;
#[cfg(target_arch = "wasm32")]
mod session_runtime;
