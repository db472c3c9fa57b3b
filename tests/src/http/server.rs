//! Native servers for the suite, started on port 0 over a fresh SQLite folder or memory.

use burstflare_edge::native::{start, RunningServer, ServerConfig};
use std::net::SocketAddr;

/// A server for the suite; dropping it stops the server and removes its folder.
pub struct Target {
    pub url: String,
    _server: (RunningServer, tempfile::TempDir),
}

impl Target {
    /// A native server over SQLite in a temp folder.
    pub async fn native() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start(Some(dir.path().to_path_buf()), dir).await
    }

    /// A native server over memory.
    pub async fn native_memory() -> Self {
        Self::start(None, tempfile::tempdir().expect("temp dir")).await
    }

    async fn start(data_dir: Option<std::path::PathBuf>, dir: tempfile::TempDir) -> Self {
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            trust_forwarded_for: true,
            // The test shape's runtime: the fake driver (the server binary has none yet).
            runtime: Some(std::sync::Arc::new(burstflare_adapters_memory::FakeRuntime::new())),
            ..ServerConfig::default()
        };
        let server = start(config).await.expect("server starts");
        Self { url: server.url(), _server: (server, dir) }
    }
}
