//! The snapshot writes of a batch: checked against the stored rows as the earlier writes of the
//! batch left them, with the same rules as the SQL schema: a snapshot names a session that exists,
//! updates and deletes are guarded by its version, the latest pointer only ever names a snapshot
//! of its session that has content, and the workspace's snapshot bytes are counted as the batch
//! so far left them. Snapshots go with their session (purge, or the template's cascade).

use super::{guard, Staged};
use crate::sessions::SessionTables;
use crate::state::State;
use burstflare_core::error::PortError;
use burstflare_core::ids::{SessionId, SnapshotId, TemplateId, WorkspaceId};
use burstflare_core::model::Snapshot;
use burstflare_core::ports::PortResult;
use burstflare_core::store::{Counted, Write};
use std::collections::HashSet;

fn conflict(what: &str) -> PortError {
    PortError::Conflict(what.to_string())
}

impl super::sessions::SessionStage {
    /// The snapshot as the batch so far left it (gone with its session or deleted: `None`).
    pub(super) fn snapshot(
        &self,
        t: &SessionTables,
        deleted: &HashSet<TemplateId>,
        id: &SnapshotId,
    ) -> Option<Snapshot> {
        let row = match self.snapshots.rows.get(id) {
            Some(row) => row.clone(),
            None if self.deleted_snapshots.contains(id) => return None,
            None => t.snapshots.get(id)?.clone(),
        };
        self.session(t, deleted, &row.session_id).map(|_| row)
    }

    /// The session's latest pointer as the batch so far left it.
    fn latest_of(&self, t: &SessionTables, session: &SessionId) -> Option<SnapshotId> {
        match self.latest.get(session) {
            Some(latest) => latest.clone(),
            None => t.latest.get(session).cloned(),
        }
    }

    /// True when `id` is a snapshot of `session` with content, as the batch so far left it.
    fn is_complete(
        &self,
        t: &SessionTables,
        deleted: &HashSet<TemplateId>,
        session: &SessionId,
        id: &SnapshotId,
    ) -> bool {
        self.snapshot(t, deleted, id).is_some_and(|s| &s.session_id == session && s.content.is_some())
    }

    /// The workspace's snapshot bytes as the batch so far left them.
    fn stored_bytes(&self, t: &SessionTables, deleted: &HashSet<TemplateId>, workspace: &WorkspaceId) -> u64 {
        let staged = self.snapshots.rows.keys();
        let stored = t.snapshots.iter().map(|s| &s.id).filter(|id| !self.snapshots.rows.contains_key(*id));
        staged
            .chain(stored)
            .filter_map(|id| self.snapshot(t, deleted, id))
            .filter(|s| &s.workspace_id == workspace)
            .map(|s| s.stored_bytes())
            .sum()
    }
}

impl Staged {
    /// Checks one snapshot write and stages its effect.
    pub(super) fn check_snapshot(&mut self, state: &State, write: Write) -> PortResult<()> {
        let t = &state.sessions;
        let deleted = self.templates.deleted().clone();
        let stage = &mut self.sessions;
        match write {
            Write::CreateSnapshot(snapshot) => {
                self.refer(state, snapshot.created_by_user_id.as_ref(), Some(&snapshot.workspace_id))?;
                let stage = &mut self.sessions;
                if stage.session(t, &deleted, &snapshot.session_id).is_none() {
                    return Err(conflict("unknown session"));
                }
                if stage.snapshot(t, &deleted, &snapshot.id).is_some() || t.snapshots.contains(&snapshot.id) {
                    return Err(conflict("snapshot already exists"));
                }
                stage.snapshots.put(snapshot.id.clone(), snapshot);
            }
            Write::UpdateSnapshot { snapshot, expected_version } => {
                let row = stage.snapshot(t, &deleted, &snapshot.id);
                guard(row.as_ref().map(|r| r.version), expected_version, "snapshot")?;
                if let Some(mut row) = row {
                    row.content = snapshot.content;
                    row.version = snapshot.version;
                    stage.snapshots.put(snapshot.id, row);
                }
            }
            Write::DeleteSnapshot { snapshot_id, expected_version } => {
                let row = stage.snapshot(t, &deleted, &snapshot_id);
                guard(row.as_ref().map(|r| r.version), expected_version, "snapshot")?;
                stage.snapshots.retain(|row| row.id != snapshot_id);
                stage.deleted_snapshots.insert(snapshot_id);
            }
            Write::MarkLatestSnapshot { session_id, snapshot_id } => {
                if !stage.is_complete(t, &deleted, &session_id, &snapshot_id) {
                    return Err(conflict("the snapshot is not an uploaded snapshot of the session"));
                }
                stage.latest.insert(session_id, Some(snapshot_id));
            }
            Write::ReplaceLatestSnapshot { session_id, from, to } => {
                let valid = to.as_ref().is_none_or(|to| stage.is_complete(t, &deleted, &session_id, to));
                if stage.latest_of(t, &session_id).as_ref() == Some(&from) && valid {
                    stage.latest.insert(session_id, to);
                }
            }
            Write::AtMost { counted: Counted::SnapshotBytes(workspace), max } => {
                let bytes = stage.stored_bytes(t, &deleted, &workspace);
                if bytes > max {
                    return Err(conflict(&format!(
                        "the workspace's snapshots would hold {bytes} bytes, at most {max}"
                    )));
                }
            }
            other => return Err(PortError::Other(format!("not a snapshot write: {other:?}"))),
        }
        Ok(())
    }
}
