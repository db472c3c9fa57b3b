//! The [`SnapshotRepo`] over the snapshot tables kept beside the sessions (see
//! [`crate::sessions::SessionTables`]). Lists sort stably by creation time, so ties fall back to
//! insertion order the way SQLite falls back to `rowid`.

use crate::MemoryStore;
use async_trait::async_trait;
use burstflare_core::ids::{SessionId, SnapshotId, WorkspaceId};
use burstflare_core::model::{Snapshot, UnfinishedSnapshot};
use burstflare_core::ports::{PortResult, SnapshotRepo};
use burstflare_core::time::Timestamp;

#[async_trait]
impl SnapshotRepo for MemoryStore {
    async fn get(&self, session: &SessionId, id: &SnapshotId) -> PortResult<Option<Snapshot>> {
        self.read(|s| s.sessions.snapshots.get(id).filter(|row| &row.session_id == session).cloned())
    }

    async fn find(&self, id: &SnapshotId) -> PortResult<Option<Snapshot>> {
        self.read(|s| s.sessions.snapshots.get(id).cloned())
    }

    async fn list(&self, session: &SessionId) -> PortResult<Vec<Snapshot>> {
        self.read(|s| {
            let mut rows: Vec<Snapshot> =
                s.sessions.snapshots.iter().filter(|row| &row.session_id == session).cloned().collect();
            rows.sort_by_key(|row| row.created_at);
            rows
        })
    }

    async fn latest(&self, session: &SessionId) -> PortResult<Option<Snapshot>> {
        self.read(|s| s.sessions.latest.get(session).and_then(|id| s.sessions.snapshots.get(id)).cloned())
    }

    async fn unfinished(
        &self,
        workspace: Option<&WorkspaceId>,
        before: Timestamp,
    ) -> PortResult<Vec<UnfinishedSnapshot>> {
        self.read(|s| {
            let mut rows: Vec<UnfinishedSnapshot> = s
                .sessions
                .snapshots
                .iter()
                .filter(|row| row.content.is_none() && row.created_at <= before)
                .filter(|row| workspace.is_none_or(|w| &row.workspace_id == w))
                .map(|row| {
                    let grants = s.templates.grants.iter().filter(|g| g.target.snapshot_id() == Some(&row.id));
                    UnfinishedSnapshot { snapshot: row.clone(), last_grant_expiry: grants.map(|g| g.expires_at).max() }
                })
                .collect();
            rows.sort_by_key(|row| row.snapshot.created_at);
            rows
        })
    }

    async fn stored_bytes(&self, workspace: &WorkspaceId) -> PortResult<u64> {
        self.read(|s| {
            s.sessions.snapshots.iter().filter(|row| &row.workspace_id == workspace).map(Snapshot::stored_bytes).sum()
        })
    }
}
