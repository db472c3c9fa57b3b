//! BurstFlare's SQL repositories, written once for every SQLite-dialect backend. They implement
//! core's storage ports over the small [`SqlExecutor`] port, which the SQLite adapter (sqlx) and
//! the Cloudflare adapter (D1) implement; all statement text lives here, one module per aggregate.
//! The schema is `migrations/` at the workspace root.
#![forbid(unsafe_code)]

mod audit;
mod devices;
mod exec;
mod housekeeping;
mod invites;
mod memberships;
mod rate;
mod row;
mod tokens;
mod uow;
mod users;
mod workspaces;

pub use exec::{error_from_message, Row, SqlExecutor, SqlValue, Stmt};

use burstflare_core::ports::{Ports, SystemPorts};
use std::sync::Arc;

/// Every storage port of core over one executor: users, workspaces, memberships, invites, tokens,
/// device codes, the audit log, the unit of work and the rate limiter.
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

    /// The full set of ports: these repositories for storage, `system` for the rest.
    pub fn into_ports(self, system: SystemPorts) -> Ports {
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
            housekeeping: repos,
            hasher: system.hasher,
            clock: system.clock,
            random: system.random,
        }
    }
}
