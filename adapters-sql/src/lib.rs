//! BurstFlare's SQL repositories, written once for every SQLite-dialect backend. They implement
//! core's storage ports over the small [`SqlExecutor`] port, which the SQLite adapter (sqlx) and
//! the Cloudflare adapter (D1) implement; all statement text lives here, one module per aggregate.
//! The schema is `migrations/` at the workspace root.
#![forbid(unsafe_code)]

mod audit;
mod builds;
mod devices;
mod exec;
mod grants;
mod housekeeping;
mod invites;
mod jobs;
mod memberships;
mod rate;
mod releases;
mod row;
mod sessions;
mod snapshots;
mod templates;
mod tokens;
mod uow;
mod usage;
mod users;
mod versions;
mod workspaces;

pub use exec::{error_from_message, Row, SqlExecutor, SqlValue, Stmt};
pub use jobs::SqlJobQueue;

use burstflare_core::ports::{Clock, JobSource, Random, Storage};
use std::sync::Arc;

/// Every storage port of core over one executor: users, workspaces, memberships, invites, tokens,
/// device codes, the audit log, templates (with versions and releases), builds, upload grants,
/// sessions (with their events and snapshots), the unit of work, the rate limiter, and both sides of the `jobs` table.
pub struct SqlRepos<E> {
    exec: Arc<E>,
}

impl<E: SqlExecutor> SqlRepos<E> {
    pub fn new(exec: Arc<E>) -> Self {
        Self { exec }
    }

    /// The executor the repositories run on.
    pub fn executor(&self) -> &Arc<E> {
        &self.exec
    }

    /// The storage ports: these repositories for every one of them.
    pub fn into_storage(self) -> Storage {
        Storage::of(Arc::new(self))
    }

    /// The producer's side of the `jobs` table, stamping jobs with `clock`'s time and ids from
    /// `random`. Jobs queued through it or a batch's `Write::Enqueue` land in the same table.
    pub fn job_queue(&self, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> SqlJobQueue<E> {
        SqlJobQueue::new(self.exec.clone(), clock, random)
    }

    /// The runner's side of the `jobs` table that [`job_queue`](Self::job_queue) enqueues into.
    pub fn job_source(&self) -> Arc<dyn JobSource> {
        Arc::new(Self::new(self.exec.clone()))
    }
}
