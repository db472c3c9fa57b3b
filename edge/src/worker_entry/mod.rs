//! The Cloudflare Worker (wasm32): its event handlers (`events`), the `SessionRuntime`
//! Durable Object that serialises each session's transitions and owns its container
//! (`session_runtime`, with the Containers driver `container_driver`), the Worker's driver that
//! reaches those objects (`object_driver`, the persisted paths' archive crossing in
//! `object_archive`), and the pure parts compiled and tested on every
//! target: which requests go to an object (`routing`), what a container is started with
//! (`container_options`), the Worker↔object protocol (`object_protocol`) and the settings read
//! from the Worker's variables (`settings`).

// Used by the wasm32 modules below; natively only their tests use them.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod container_options;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod object_protocol;
mod routing;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod settings;

#[cfg(target_arch = "wasm32")]
mod agent_archive;
#[cfg(target_arch = "wasm32")]
mod agent_client;
#[cfg(target_arch = "wasm32")]
mod app_cache;
#[cfg(target_arch = "wasm32")]
mod container_driver;
#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
mod logging;
#[cfg(target_arch = "wasm32")]
mod object_archive;
#[cfg(target_arch = "wasm32")]
mod object_driver;
#[cfg(target_arch = "wasm32")]
pub mod runtime_routes;
#[cfg(target_arch = "wasm32")]
mod session_runtime;
#[cfg(target_arch = "wasm32")]
mod web_assets;
