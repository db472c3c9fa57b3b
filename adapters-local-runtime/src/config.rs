//! How the local runtime is configured by the server that owns it.

use burstflare_core::blob::BlobStore;
use burstflare_core::session_keys::SessionKeys;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Whether agents run in a bubblewrap sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// The sandbox when `bwrap` works on this host, else plain processes with a loud warning.
    Auto,
    /// Always the sandbox; the driver refuses to start when `bwrap` does not work.
    Bwrap,
    /// Plain child processes: no isolation from the host beyond the user the server runs as.
    Plain,
}

/// What [`LocalRuntime::new`](crate::LocalRuntime::new) needs.
#[derive(Clone)]
pub struct LocalRuntimeConfig {
    /// `<data dir>/sessions`: one folder per session below it.
    pub sessions_dir: PathBuf,
    /// Program and arguments that start an agent reading its configuration from standard input
    /// (the server passes its own executable and `agent`).
    pub agent_command: Vec<OsString>,
    pub sandbox: SandboxMode,
    /// Derives each session's SSH host key and each boot's agent secret.
    pub keys: SessionKeys,
    /// Where templates' bundles are read from (`RuntimeSpec::bundle_key`).
    pub blobs: Arc<dyn BlobStore>,
    /// An agent not healthy within this is killed and its start fails.
    pub start_timeout: Duration,
}

impl fmt::Debug for LocalRuntimeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntimeConfig")
            .field("sessions_dir", &self.sessions_dir)
            .field("agent_command", &self.agent_command)
            .field("sandbox", &self.sandbox)
            .field("start_timeout", &self.start_timeout)
            .finish_non_exhaustive()
    }
}
