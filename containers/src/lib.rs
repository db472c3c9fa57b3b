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

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the `proxy-connection` some clients still send): never
/// forwarded as they are by the proxies between a client and a session's app (the edge's and the
/// agent's).
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];
