//! Where the suite points: `BURSTFLARE_TEST_URL` if set (any running deployment, e.g. the Worker
//! under workerd), else a native server started on port 0 over a fresh SQLite folder.

use burstflare_edge::native::{start, RunningServer, ServerConfig};
use std::net::SocketAddr;

/// A target for the suite; dropping it stops a server it started.
pub struct Target {
    pub url: String,
    _server: Option<(RunningServer, tempfile::TempDir)>,
}

impl Target {
    /// The external URL if configured, else a fresh native server.
    pub async fn from_env() -> Self {
        match std::env::var("BURSTFLARE_TEST_URL") {
            Ok(url) if !url.is_empty() => Self { url, _server: None },
            _ => Self::native().await,
        }
    }

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
            ..ServerConfig::default()
        };
        let server = start(config).await.expect("server starts");
        Self { url: server.url(), _server: Some((server, dir)) }
    }
}
