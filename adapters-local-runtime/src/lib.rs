//! The local runtime driver: the native server's [`RuntimeDriver`](burstflare_core::ports::RuntimeDriver).
//! Each session gets a folder of its own under the data directory and its agent runs as a process
//! of this host, in a bubblewrap sandbox when `bwrap` works here (own mount, PID, IPC, UTS and
//! network namespaces: the session sees only its own loopback, its `/workspace` read-write and the
//! host's system folders read-only), else as a plain child process with a loud warning.
//!
//! Per session, `<sessions_dir>/<session id>/` holds `workspace/` (the user's files, `/workspace`
//! in the sandbox), `run/` (the agent's socket, the command's log, the bundle and its unpack
//! marker; `/run/burstflare` in the sandbox) and host-only files the session can neither see nor
//! write: `agent.json` (which processes to signal, which generation's secret is live) and
//! `agent.log` (the agent's own output). A new driver on the same folder adopts the agents still
//! alive, so sessions survive a server restart.

#![forbid(unsafe_code)]

mod client;
mod config;
mod driver;
mod files;
mod layout;
mod persist;
mod process;
mod runtime;
pub mod sandbox;
mod spawn;

pub use client::connect_agent_socket;
pub use config::{LocalRuntimeConfig, SandboxMode};
pub use layout::validate_session_id;
pub use runtime::LocalRuntime;
