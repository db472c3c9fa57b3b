//! The session writes of a batch: checked against the stored rows as the earlier writes of the
//! batch left them (staged rows over the store, minus the sessions the batch purged and those of
//! templates it deleted), with the same rules as the SQL schema: live names unique per workspace
//! whatever the case, references that must exist (workspace, template, version, user, session),
//! guards on every update and purge, and the running-session quota counted as the batch so far
//! left the store.

use super::{guard, Stage, Staged};
use crate::sessions::SessionTables;
use crate::state::State;
use burstflare_core::error::PortError;
use burstflare_core::ids::{SessionId, SnapshotId, TemplateId, WorkspaceId};
use burstflare_core::machines::sessions::holds_a_slot;
use burstflare_core::model::{Session, SessionEvent, Snapshot};
use burstflare_core::ports::PortResult;
use burstflare_core::store::{Counted, Write};
use std::collections::{HashMap, HashSet};

/// What a batch does to the session tables.
#[derive(Default)]
pub(super) struct SessionStage {
    sessions: Stage<SessionId, Session>,
    events: Vec<SessionEvent>,
    /// Sessions the batch purged: their stored rows and events no longer count.
    purged: HashSet<SessionId>,
    pub(super) snapshots: Stage<SnapshotId, Snapshot>,
    /// Snapshots the batch deleted.
    pub(super) deleted_snapshots: HashSet<SnapshotId>,
    /// Latest pointers the batch set (`None`: cleared).
    pub(super) latest: HashMap<SessionId, Option<SnapshotId>>,
}

fn conflict(what: &str) -> PortError {
    PortError::Conflict(what.to_string())
}

impl SessionStage {
    /// The session as the batch so far left it; `deleted` are the templates the batch deleted.
    pub(super) fn session(&self, t: &SessionTables, deleted: &HashSet<TemplateId>, id: &SessionId) -> Option<Session> {
        let row = match self.sessions.rows.get(id) {
            Some(row) => Some(row),
            None => t.sessions.get(id).filter(|_| !self.purged.contains(id)),
        };
        row.filter(|row| !deleted.contains(&row.template_id)).cloned()
    }

    /// Every session of the workspace as the batch so far left them.
    fn of_workspace<'a>(
        &'a self,
        t: &'a SessionTables,
        deleted: &'a HashSet<TemplateId>,
        workspace: &'a WorkspaceId,
    ) -> impl Iterator<Item = &'a Session> + 'a {
        let stored =
            t.sessions.iter().filter(|row| !self.purged.contains(&row.id) && !self.sessions.rows.contains_key(&row.id));
        self.sessions
            .rows
            .values()
            .chain(stored)
            .filter(move |row| &row.workspace_id == workspace && !deleted.contains(&row.template_id))
    }

    /// Refuses a live session whose name another live session of its workspace has, in any case.
    fn check_name(&self, t: &SessionTables, deleted: &HashSet<TemplateId>, session: &Session) -> PortResult<()> {
        if !session.is_live() {
            return Ok(());
        }
        let name = session.name.normalised();
        let taken = self
            .of_workspace(t, deleted, &session.workspace_id)
            .any(|row| row.id != session.id && row.is_live() && row.name.normalised() == name);
        if taken {
            return Err(conflict("a live session of the workspace has that name"));
        }
        Ok(())
    }

    /// Writes the batch's effect into the store: removals first (purges and the cascade of the
    /// templates the batch deleted), then staged sessions and events in order, then snapshots and
    /// latest pointers. True when sessions or snapshots were removed (their runtime tokens and
    /// upload grants go too).
    pub(super) fn apply(self, t: &mut SessionTables, deleted: &HashSet<TemplateId>) -> bool {
        let purged = self.purged;
        let removed = !purged.is_empty() || !deleted.is_empty() || !self.deleted_snapshots.is_empty();
        if removed {
            t.remove_where(|row| purged.contains(&row.id) || deleted.contains(&row.template_id));
        }
        for row in self.sessions.into_rows().filter(|row| !deleted.contains(&row.template_id)) {
            t.put_session(row);
        }
        // Events of sessions created then cascaded away within the batch go with them.
        for event in self.events {
            if t.sessions.contains(&event.session_id) {
                t.put_event(event);
            }
        }
        for row in self.snapshots.into_rows() {
            t.snapshots.upsert(row.id.clone(), row);
        }
        for (session, latest) in self.latest {
            match latest {
                Some(snapshot) => t.latest.insert(session, snapshot),
                None => t.latest.remove(&session),
            };
        }
        let gone = self.deleted_snapshots;
        t.remove_snapshots_where(|row| gone.contains(&row.id));
        removed
    }
}

impl Staged {
    /// Checks one session write and stages its effect.
    pub(super) fn check_session(&mut self, state: &State, write: Write) -> PortResult<()> {
        let t = &state.sessions;
        let deleted = self.templates.deleted().clone();
        match write {
            Write::CreateSession(session) => {
                self.refer(state, Some(&session.created_by_user_id), Some(&session.workspace_id))?;
                self.templates.check_parents(&state.templates, &session.template_id, &session.version_id)?;
                if self.sessions.session(t, &deleted, &session.id).is_some() {
                    return Err(conflict("session already exists"));
                }
                self.sessions.check_name(t, &deleted, &session)?;
                self.sessions.sessions.put(session.id.clone(), session);
            }
            Write::UpdateSession { session, expected_version } => {
                let row = self.sessions.session(t, &deleted, &session.id);
                guard(row.as_ref().map(|r| r.version), expected_version, "session")?;
                if let Some(mut row) = row {
                    row.state = session.state;
                    row.state_detail = session.state_detail;
                    row.updated_at = session.updated_at;
                    row.last_started_at = session.last_started_at;
                    row.last_stopped_at = session.last_stopped_at;
                    row.last_active_at = session.last_active_at;
                    row.version = session.version;
                    self.sessions.check_name(t, &deleted, &row)?;
                    self.sessions.sessions.put(session.id, row);
                }
            }
            Write::TouchSession { session_id, at } => {
                if let Some(mut row) = self.sessions.session(t, &deleted, &session_id) {
                    row.last_active_at = row.last_active_at.max(Some(at));
                    self.sessions.sessions.put(session_id, row);
                }
            }
            Write::AppendSessionEvent(event) => {
                self.refer(state, None, Some(&event.workspace_id))?;
                if self.sessions.session(t, &deleted, &event.session_id).is_none() {
                    return Err(conflict("unknown session"));
                }
                if t.event_ids.contains(&event.id) || self.sessions.events.iter().any(|e| e.id == event.id) {
                    return Err(conflict("session event already exists"));
                }
                self.sessions.events.push(event);
            }
            Write::PurgeSession { session_id, expected_version } => {
                let row = self.sessions.session(t, &deleted, &session_id);
                guard(row.as_ref().map(|r| r.version), expected_version, "session")?;
                self.sessions.sessions.retain(|row| row.id != session_id);
                self.sessions.events.retain(|e| e.session_id != session_id);
                self.sessions.snapshots.retain(|row| row.session_id != session_id);
                self.sessions.latest.remove(&session_id);
                self.sessions.purged.insert(session_id);
            }
            Write::AtMost { counted: Counted::ActiveSessions(workspace), max } => {
                let count =
                    self.sessions.of_workspace(t, &deleted, &workspace).filter(|s| holds_a_slot(s.state)).count();
                let count = count as u64;
                if count > max {
                    return Err(conflict(&format!(
                        "the workspace would have {count} active sessions, at most {max} allowed"
                    )));
                }
            }
            other => return Err(PortError::Other(format!("not a session write: {other:?}"))),
        }
        Ok(())
    }
}
