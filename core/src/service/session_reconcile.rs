//! What reconcile does to sessions, across the deployment or within one workspace: it sleeps
//! running sessions idle past their template's idle timeout (never the others; their persisted
//! paths saved first), marks as `failed`
//! the sessions whose runtime died or never became healthy, finishes stops that were cut off
//! (saving the persisted paths first while the runtime still runs), and
//! purges deleted sessions and sleeping ones past their sleep TTL, with their events and snapshots
//! (records in the batch, objects after it), then sweeps unfinished and orphaned snapshots. Every
//! step is a guarded transition, so running it twice, or beside user requests, changes nothing twice.

use super::{Actor, Service};
use crate::error::Result;
use crate::ids::WorkspaceId;
use crate::machines::sessions::SessionCommand;
use crate::model::Session;
use crate::ports::RuntimeStatus;
use crate::store::{Batch, Write};
use crate::time::Timestamp;
use crate::values::{Role, SessionState};
use serde_json::json;

/// How long a session may stay `starting` or `stopping` before reconcile asks its runtime.
pub const TRANSITION_TIMEOUT_SECONDS: i64 = 5 * 60;

/// What a reconcile pass did to sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionSweep {
    /// Running sessions idle past their idle timeout, now sleeping.
    pub slept: u64,
    /// Sessions whose runtime died or never became healthy, now failed.
    pub failed: u64,
    /// Starts or stops that were cut off (a killed server) and are now finished.
    pub recovered: u64,
    pub purged_deleted: u64,
    /// Sleeping sessions past their sleep TTL, purged.
    pub purged_stale: u64,
    /// Snapshots removed: those of purged sessions, records whose content never arrived, and
    /// objects no record names.
    pub purged_snapshots: u64,
}

impl Service {
    /// Reconciles the caller's workspace (admins and the owner).
    pub async fn reconcile_workspace(&self, actor: &Actor) -> Result<SessionSweep> {
        actor.require(Role::Admin)?;
        self.sweep_sessions(Some(&actor.workspace_id)).await
    }

    pub(crate) async fn sweep_sessions(&self, scope: Option<&WorkspaceId>) -> Result<SessionSweep> {
        let now = self.now();
        let mut sweep = SessionSweep::default();
        let states = [SessionState::Starting, SessionState::Running, SessionState::Stopping];
        for session in self.ports.sessions.in_states(scope, &states).await? {
            // A step that loses its guard to a user's request leaves the session to that request.
            let _ = self.sweep_active(session, now, &mut sweep).await;
        }
        let states = [SessionState::Deleted, SessionState::Sleeping];
        for session in self.ports.sessions.in_states(scope, &states).await? {
            if session.state == SessionState::Deleted {
                if let Ok(snapshots) = self.purge(&session, None).await {
                    sweep.purged_deleted += 1;
                    sweep.purged_snapshots += snapshots;
                }
            } else if is_stale(&session, now) {
                let details = json!({ "sleepTtlSeconds": session.sleep_ttl_seconds,
                                      "lastStoppedAt": session.last_stopped_at.map(|t| t.to_iso()) });
                let audit = self.audit(
                    "session.purged_stale",
                    None,
                    Some(&session.workspace_id),
                    ("session", session.id.as_str()),
                    details,
                );
                if let Ok(snapshots) = self.purge(&session, Some(audit)).await {
                    sweep.purged_stale += 1;
                    sweep.purged_snapshots += snapshots;
                }
            }
        }
        sweep.purged_snapshots += self.sweep_snapshots(scope).await?;
        Ok(sweep)
    }

    async fn sweep_active(&self, mut session: Session, now: Timestamp, sweep: &mut SessionSweep) -> Result<()> {
        let stuck = session.updated_at.plus_seconds(TRANSITION_TIMEOUT_SECONDS) <= now;
        let status = match &self.ports.runtime {
            Some(runtime) => runtime.status(&session.id).await?,
            None => RuntimeStatus::Stopped,
        };
        // The agent saw use the edge could not (typing in an open terminal or SSH session):
        // record it before deciding whether the session is idle.
        if let RuntimeStatus::Running { last_activity: Some(at) } = status {
            if session.last_active_at.is_none_or(|last| at > last) {
                self.record_activity_at(&session, at).await?;
                session.last_active_at = Some(at);
            }
        }
        match (session.state, status) {
            (SessionState::Running, RuntimeStatus::Stopped) => {
                let reason = "the runtime stopped unexpectedly".to_string();
                self.system_transition(&session, SessionCommand::Fail(reason)).await?;
                sweep.failed += 1;
            }
            (SessionState::Running, RuntimeStatus::Running { .. }) if is_idle(&session, now) => {
                let stopping =
                    self.system_transition(&session, SessionCommand::Stop { reason: Some("idle".into()) }).await?;
                let stopping = self.save_before_stop(stopping).await?;
                if let Some(runtime) = &self.ports.runtime {
                    runtime.stop(&stopping.id).await?;
                }
                self.system_transition(&stopping, SessionCommand::Stopped).await?;
                sweep.slept += 1;
            }
            (SessionState::Starting, RuntimeStatus::Running { .. }) if stuck => {
                self.system_transition(&session, SessionCommand::Ready).await?;
                sweep.recovered += 1;
            }
            (SessionState::Starting, RuntimeStatus::Stopped) if stuck => {
                let reason = "the runtime did not become healthy in time".to_string();
                self.system_transition(&session, SessionCommand::Fail(reason)).await?;
                sweep.failed += 1;
            }
            (SessionState::Stopping, status) if self.stop_is_stuck(&session, now) => {
                // Cut off before its save finished (a killed server): the runtime still holds the
                // files, so they are saved now; a failed save is recorded before the teardown.
                let stopping = match status {
                    RuntimeStatus::Running { .. } => self.save_before_stop(session).await?,
                    RuntimeStatus::Stopped => session,
                };
                if let Some(runtime) = &self.ports.runtime {
                    runtime.stop(&stopping.id).await?;
                }
                self.system_transition(&stopping, SessionCommand::Stopped).await?;
                sweep.recovered += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// A stop is cut off once it has been `stopping` longer than a save may take (its deadline)
    /// plus the transition timeout, so reconcile never tears down a runtime whose save still runs.
    fn stop_is_stuck(&self, session: &Session, now: Timestamp) -> bool {
        let allowed = self.config.save_timeout_seconds.saturating_add(TRANSITION_TIMEOUT_SECONDS);
        session.updated_at.plus_seconds(allowed) <= now
    }

    /// Removes the session with its events and snapshots (guarded by the version read), then the
    /// snapshots' objects; returns how many snapshots went.
    async fn purge(&self, session: &Session, audit: Option<Write>) -> Result<u64> {
        let snapshots = self.ports.snapshots.list(&session.id).await?;
        let mut batch = Batch::new();
        batch.push(Write::PurgeSession { session_id: session.id.clone(), expected_version: session.version });
        if let Some(audit) = audit {
            batch.push(audit);
        }
        self.commit(batch).await?;
        // Objects of a snapshot uploaded between the read and the commit are left to the sweep.
        for content in snapshots.iter().filter_map(|s| s.content.as_ref()) {
            self.discard_object(&content.key).await;
        }
        Ok(snapshots.len() as u64)
    }
}

/// Running, with an idle timeout, and no activity (or start) within it.
fn is_idle(session: &Session, now: Timestamp) -> bool {
    let Some(timeout) = session.idle_timeout_seconds else { return false };
    let last = session.last_active_at.or(session.last_started_at).unwrap_or(session.updated_at);
    last.plus_seconds(i64::from(timeout)) <= now
}

/// Sleeping longer than its sleep TTL.
pub(crate) fn is_stale(session: &Session, now: Timestamp) -> bool {
    let Some(ttl) = session.sleep_ttl_seconds.filter(|t| *t > 0) else { return false };
    let since = session.last_stopped_at.unwrap_or(session.updated_at);
    since.plus_seconds(i64::from(ttl)) <= now
}
