//! BurstFlare's local storage: the shared SQL repositories (`burstflare-adapters-sql`) over a
//! SQLite file through rusqlite, with the schema from `migrations/` applied on open by sqlx (so the
//! schema history stays sqlx's `_sqlx_migrations`).
#![forbid(unsafe_code)]

mod blob_list;
mod blobs;
mod checkpoint;
mod error;
mod executor;
mod group;
mod pool;

pub use blobs::FsBlobStore;
pub use executor::RusqliteExecutor;

use burstflare_adapters_sql::{SqlJobQueue, SqlRepos};
use burstflare_core::error::PortError;
use burstflare_core::ports::{Clock, JobSource, Random, Storage};
use error::sqlx_error;
use executor::BUSY_TIMEOUT;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::sync::Arc;

/// The database file `open_in` uses inside its directory.
pub const DB_FILE: &str = "burstflare.db";

/// An open SQLite database with the schema applied. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    exec: Arc<RusqliteExecutor>,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path` in WAL mode with foreign keys on,
    /// and applies pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, PortError> {
        migrate(path).await?;
        let owned = path.to_path_buf();
        let exec = tokio::task::spawn_blocking(move || RusqliteExecutor::open(&owned, reader_connections()))
            .await
            .map_err(|e| PortError::Other(format!("opening {}: {e}", path.display())))??;
        Ok(SqliteStore { exec: Arc::new(exec) })
    }

    /// Opens `burstflare.db` inside `dir`, creating the directory if needed.
    pub async fn open_in(dir: &Path) -> Result<SqliteStore, PortError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PortError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        Self::open(&dir.join(DB_FILE)).await
    }

    /// The storage ports: the SQL repositories on this database.
    pub fn storage(&self) -> Storage {
        self.repos().into_storage()
    }

    /// The local job queue: this database's `jobs` table, stamping jobs with `clock`'s time and ids
    /// from `random`. Batches queue their jobs in the same table, atomically with their writes.
    pub fn job_queue(&self, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> SqlJobQueue<RusqliteExecutor> {
        self.repos().job_queue(clock, random)
    }

    /// The runner's side of this database's `jobs` table, which [`job_queue`](Self::job_queue)
    /// enqueues into.
    pub fn job_source(&self) -> Arc<dyn JobSource> {
        self.repos().job_source()
    }

    fn repos(&self) -> SqlRepos<RusqliteExecutor> {
        SqlRepos::new(self.exec.clone())
    }

    /// The executor, for adapters that add their own tables to this database.
    pub fn executor(&self) -> &Arc<RusqliteExecutor> {
        &self.exec
    }

    /// Closes the database; calls made afterwards through its ports are `Unavailable`.
    pub async fn close(&self) {
        self.exec.close().await;
    }
}

/// Creates the file if missing, switches it to WAL and applies pending migrations, through a
/// one-connection sqlx pool that is closed again before the executor opens its own connections.
async fn migrate(path: &Path) -> Result<(), PortError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(sqlx_error)?;
    let migrated = sqlx::migrate!("../migrations")
        .run(&pool)
        .await
        .map_err(|e| PortError::Other(format!("migrating {}: {e}", path.display())));
    pool.close().await;
    migrated
}

/// Read connections: twice the cores, between 4 and 16. Each call runs on its caller's thread, so
/// more connections than threads that can be inside a call at once would sit idle; callers beyond
/// that wait for one.
fn reader_connections() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).clamp(4, 16)
}
