//! Sessions in memory: the tables inside [`crate::state::State`] (sessions, and each session's
//! events in append order), the removals that mirror the SQL cascades (purging a session, deleting
//! a template), and the [`SessionRepo`] over them. Lists sort stably by creation time, so ties
//! fall back to insertion order the way SQLite falls back to `rowid`.

use crate::state::Table;
use crate::MemoryStore;
use async_trait::async_trait;
use burstflare_core::ids::{SessionEventId, SessionId, SnapshotId, WorkspaceId};
use burstflare_core::model::{Session, SessionEvent, Snapshot};
use burstflare_core::ports::{PortResult, SessionRepo};
use burstflare_core::values::SessionState;
use std::collections::{HashMap, HashSet};

/// The session tables. Removing a session rebuilds the session table.
#[derive(Debug, Default)]
pub(crate) struct SessionTables {
    pub sessions: Table<SessionId, Session>,
    /// Each session's events, in append order.
    pub events: HashMap<SessionId, Vec<SessionEvent>>,
    /// Every stored event id (the primary key).
    pub event_ids: HashSet<SessionEventId>,
    /// Snapshots of sessions; they go with their session.
    pub snapshots: Table<SnapshotId, Snapshot>,
    /// Each session's latest good snapshot.
    pub latest: HashMap<SessionId, SnapshotId>,
}

impl SessionTables {
    pub(crate) fn put_session(&mut self, session: Session) {
        self.sessions.upsert(session.id.clone(), session);
    }

    pub(crate) fn put_event(&mut self, event: SessionEvent) {
        self.event_ids.insert(event.id.clone());
        self.events.entry(event.session_id.clone()).or_default().push(event);
    }

    /// Removes the sessions `gone` selects with their events, keeping every other row in its place.
    pub(crate) fn remove_where(&mut self, gone: impl Fn(&Session) -> bool) {
        let sessions = self.sessions.drain();
        for session in sessions {
            if gone(&session) {
                for event in self.events.remove(&session.id).unwrap_or_default() {
                    self.event_ids.remove(&event.id);
                }
            } else {
                self.put_session(session);
            }
        }
        self.remove_snapshots_where(|_| false);
    }

    /// Removes the snapshots `gone` selects and those whose session is gone, and every pointer to
    /// a removed snapshot or from a removed session.
    pub(crate) fn remove_snapshots_where(&mut self, gone: impl Fn(&Snapshot) -> bool) {
        let sessions = &self.sessions;
        let snapshots = self.snapshots.drain();
        for snapshot in snapshots {
            if !gone(&snapshot) && sessions.contains(&snapshot.session_id) {
                self.snapshots.upsert(snapshot.id.clone(), snapshot);
            }
        }
        let (sessions, snapshots) = (&self.sessions, &self.snapshots);
        self.latest.retain(|session, snapshot| sessions.contains(session) && snapshots.contains(snapshot));
    }
}

#[async_trait]
impl SessionRepo for MemoryStore {
    async fn get(&self, workspace: &WorkspaceId, id: &SessionId) -> PortResult<Option<Session>> {
        self.read(|s| s.sessions.sessions.get(id).filter(|row| &row.workspace_id == workspace).cloned())
    }

    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Session>> {
        self.read(|s| oldest_first(&s.sessions, |row| row.is_live() && &row.workspace_id == workspace))
    }

    async fn events(&self, session: &SessionId) -> PortResult<Vec<SessionEvent>> {
        self.read(|s| s.sessions.events.get(session).cloned().unwrap_or_default())
    }

    async fn in_states(&self, workspace: Option<&WorkspaceId>, states: &[SessionState]) -> PortResult<Vec<Session>> {
        self.read(|s| {
            oldest_first(&s.sessions, |row| {
                states.contains(&row.state) && workspace.is_none_or(|w| &row.workspace_id == w)
            })
        })
    }
}

/// The sessions `keep` selects, cloned, oldest first (insertion order among equal times).
fn oldest_first(t: &SessionTables, keep: impl Fn(&Session) -> bool) -> Vec<Session> {
    let mut rows: Vec<Session> = t.sessions.iter().filter(|row| keep(row)).cloned().collect();
    rows.sort_by_key(|row| row.created_at);
    rows
}
