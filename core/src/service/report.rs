//! The admin report: counters over the caller's workspace (members, templates, builds by status,
//! sessions by state, releases), for admins and the owner.

use super::session_reconcile::is_stale;
use super::{Actor, Service};
use crate::error::Result;
use crate::model::{BuildStatus, WorkspaceView};
use crate::values::{Role, SessionState};

/// The counters of [`Service::admin_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminReport {
    pub workspace: WorkspaceView,
    pub members: u64,
    pub templates: u64,
    pub templates_archived: u64,
    /// Builds `queued` or `retrying`.
    pub builds_queued: u64,
    pub builds_failed: u64,
    pub builds_dead_lettered: u64,
    pub sessions_running: u64,
    pub sessions_sleeping: u64,
    pub sessions_failed: u64,
    /// Sleeping sessions reconcile would purge now (past their sleep TTL).
    pub sessions_stale_eligible: u64,
    /// Live (not deleted) sessions.
    pub sessions_total: u64,
    pub releases: u64,
}

impl Service {
    pub async fn admin_report(&self, actor: &Actor) -> Result<AdminReport> {
        actor.require(Role::Admin)?;
        let ws = &actor.workspace_id;
        let workspace = self.workspace(ws).await?;
        let workspace = self.view(workspace, actor.role()).await?;
        let templates = self.ports.templates.list(ws).await?;
        let builds = self.ports.builds.list(ws).await?;
        let sessions = self.ports.sessions.list(ws).await?;
        let releases = self.ports.templates.releases(ws, None).await?;
        let now = self.now();
        let count_builds = |f: &dyn Fn(BuildStatus) -> bool| builds.iter().filter(|b| f(b.status)).count() as u64;
        let in_state = |state: SessionState| sessions.iter().filter(|s| s.state == state).count() as u64;
        let stale = sessions.iter().filter(|s| s.state == SessionState::Sleeping && is_stale(s, now)).count() as u64;
        Ok(AdminReport {
            members: u64::from(workspace.member_count),
            workspace,
            templates: templates.len() as u64,
            templates_archived: templates.iter().filter(|t| t.archived_at.is_some()).count() as u64,
            builds_queued: count_builds(&|s| s.is_runnable()),
            builds_failed: count_builds(&|s| s == BuildStatus::Failed),
            builds_dead_lettered: count_builds(&|s| s == BuildStatus::DeadLettered),
            sessions_running: in_state(SessionState::Running),
            sessions_sleeping: in_state(SessionState::Sleeping),
            sessions_failed: in_state(SessionState::Failed),
            sessions_stale_eligible: stale,
            sessions_total: sessions.len() as u64,
            releases: releases.len() as u64,
        })
    }
}
