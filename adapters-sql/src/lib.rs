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
mod templates;
mod tokens;
mod uow;
mod usage;
mod users;
mod versions;
mod workspaces;

pub use exec::{error_from_message, Row, SqlExecutor, SqlValue, Stmt};
pub use jobs::SqlJobQueue;

use burstflare_core::blob::BlobStore;
use burstflare_core::ports::{JobSource, Ports, SystemPorts};
use std::sync::Arc;

/// Every storage port of core over one executor: users, workspaces, memberships, invites, tokens,
/// device codes, the audit log, templates (with versions and releases), builds, upload grants, the
/// unit of work, the rate limiter, and both sides of the `jobs` table.
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

    /// The runner's side of the `jobs` table that [`into_ports`](Self::into_ports) enqueues into.
    pub fn job_source(&self) -> Arc<dyn JobSource> {
        Arc::new(Self::new(self.exec.clone()))
    }

    /// The full set of ports: these repositories for storage (jobs go to the `jobs` table),
    /// `blobs` for objects, `system` for the rest.
    pub fn into_ports(self, system: SystemPorts, blobs: Arc<dyn BlobStore>) -> Ports {
        let jobs = Arc::new(SqlJobQueue::new(self.exec.clone(), system.clock.clone(), system.random.clone()));
        let repos = Arc::new(self);
        Ports {
            users: repos.clone(),
            workspaces: repos.clone(),
            memberships: repos.clone(),
            invites: repos.clone(),
            tokens: repos.clone(),
            devices: repos.clone(),
            audit: repos.clone(),
            uow: repos.clone(),
            rate_limiter: repos.clone(),
            housekeeping: repos.clone(),
            templates: repos.clone(),
            builds: repos.clone(),
            grants: repos,
            blobs,
            jobs,
            hasher: system.hasher,
            clock: system.clock,
            random: system.random,
        }
    }
}
