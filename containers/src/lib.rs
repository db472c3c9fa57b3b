//! The session agent: the process every session runs (the entrypoint of the session image on
//! Cloudflare, and the process the local driver starts natively). It unpacks the template's bundle
//! into the workspace, runs the template's command, and serves the edge, on one listener guarded
//! by a per-session secret: health, logs, the preview proxy, a PTY terminal over WebSocket and an
//! SSH server over WebSocket.

pub mod activity;
pub mod agent;
pub mod config;
pub mod entry;
pub mod shell;
pub mod ssh;
pub mod ws_stream;

pub use burstflare_core::ports::HOP_BY_HOP;
