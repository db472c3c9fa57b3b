//! BurstFlare's local storage: the shared SQL repositories (`burstflare-adapters-sql`) over a
//! SQLite file through sqlx, with the schema from `migrations/` applied on open.
#![forbid(unsafe_code)]

mod blobs;
mod executor;

pub use blobs::FsBlobStore;
pub use executor::SqlxExecutor;

use burstflare_adapters_sql::SqlRepos;
use burstflare_core::blob::BlobStore;
use burstflare_core::error::PortError;
use burstflare_core::ports::{JobSource, Ports, SystemPorts};
use executor::port_error;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The database file `open_in` uses inside its directory.
pub const DB_FILE: &str = "burstflare.db";

/// How long a connection waits for another process's lock before the call is `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a free connection of its pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// An open SQLite database with the schema applied. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    exec: Arc<SqlxExecutor>,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path` in WAL mode with foreign keys on,
    /// and applies pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, PortError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(port_error)?;
        sqlx::migrate!("../migrations")
            .run(&writer)
            .await
            .map_err(|e| PortError::Other(format!("migrating {}: {e}", path.display())))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(reader_connections())
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await
            .map_err(port_error)?;
        Ok(SqliteStore { exec: Arc::new(SqlxExecutor::new(reader, writer)) })
    }

    /// Opens `burstflare.db` inside `dir`, creating the directory if needed.
    pub async fn open_in(dir: &Path) -> Result<SqliteStore, PortError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PortError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        Self::open(&dir.join(DB_FILE)).await
    }

    /// Every port of core: the SQL repositories on this database (jobs go to its `jobs` table),
    /// `blobs` for objects, plus `system`.
    pub fn ports(&self, system: SystemPorts, blobs: Arc<dyn BlobStore>) -> Ports {
        SqlRepos::new(self.exec.clone()).into_ports(system, blobs)
    }

    /// The runner's side of this database's `jobs` table, which [`ports`](Self::ports) enqueues into.
    pub fn job_source(&self) -> Arc<dyn JobSource> {
        SqlRepos::new(self.exec.clone()).job_source()
    }

    /// The executor, for adapters that add their own tables to this database.
    pub fn executor(&self) -> &Arc<SqlxExecutor> {
        &self.exec
    }

    /// Closes the database; calls made afterwards through its ports are `Unavailable`.
    pub async fn close(&self) {
        self.exec.close().await;
    }
}

/// Read connections: twice the cores, between 4 and 16. SQLite reads are CPU-bound (each sqlx
/// connection runs on its own thread), so more would only add threads; callers beyond that queue.
fn reader_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(4, 16)
}
