//! Snapshots of sessions: create a record (no content yet), list, download, delete, the runtime's
//! entry points (begin an automatic save, read the latest good snapshot to restore), and what
//! reconcile does to them. Content arrives through `snapshot_uploads`; the session's "latest
//! good" pointer only ever names a snapshot whose upload completed.

use super::sessions::session_not_found;
use super::{Actor, Service};
use crate::blob::Blob;
use crate::error::{Code, Error, Result};
use crate::ids::{SessionId, SnapshotId, WorkspaceId};
use crate::model::{Session, Snapshot, SnapshotKind};
use crate::secret::Secret;
use crate::store::{Batch, Write};
use crate::values::{Role, SessionState};
use serde_json::json;

/// Usage kind: bytes of snapshot content stored, recorded when an upload completes.
pub const SNAPSHOT_BYTES: &str = "snapshot_bytes";

/// Prefix of the upload-grant secrets of snapshots (the same grants route as bundles).
pub const SNAPSHOT_GRANT_PREFIX: &str = super::uploads::GRANT_PREFIX;

/// How old an object with no record must be before reconcile deletes it: an upload writes its
/// object before the batch that records it, so a younger one may still be on its way.
pub const ORPHAN_GRACE_SECONDS: i64 = 24 * 3600;

/// The longest snapshot label, in characters.
const LABEL_MAX: usize = 100;

/// A session's snapshots, oldest first, and which one is its latest good one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotList {
    pub snapshots: Vec<Snapshot>,
    pub latest: Option<SnapshotId>,
}

pub(crate) fn snapshot_not_found() -> Error {
    Error::new(Code::SnapshotNotFound, "Snapshot not found")
}

fn session_deleted() -> Error {
    Error::new(Code::SessionDeleted, "Session deleted")
}

pub(super) fn parse_label(label: Option<&str>, default: &str) -> Result<String> {
    let label = label.map(str::trim).filter(|l| !l.is_empty()).unwrap_or(default);
    if label.chars().count() > LABEL_MAX || label.chars().any(char::is_control) {
        return Err(Error::new(
            Code::InvalidSnapshotLabel,
            format!("A snapshot label has at most {LABEL_MAX} printable characters"),
        ));
    }
    Ok(label.to_string())
}

impl Service {
    /// The session's snapshot, or 404.
    pub(crate) async fn snapshot_of(&self, session: &Session, id: &SnapshotId) -> Result<Snapshot> {
        self.ports.snapshots.get(&session.id, id).await?.ok_or_else(snapshot_not_found)
    }

    /// Every snapshot of a session of the caller's workspace, with its latest good one.
    pub async fn list_snapshots(&self, actor: &Actor, session_id: &SessionId) -> Result<SnapshotList> {
        let session = self.session(actor, session_id).await?;
        self.snapshot_list(&session.id).await
    }

    pub(crate) async fn snapshot_list(&self, session: &SessionId) -> Result<SnapshotList> {
        let snapshots = self.ports.snapshots.list(session).await?;
        let latest = self.ports.snapshots.latest(session).await?.map(|s| s.id);
        Ok(SnapshotList { snapshots, latest })
    }

    /// Records a manual snapshot of the session, without content: its content is uploaded next
    /// (directly or through a grant). Members only; the session must not be deleted.
    pub async fn create_snapshot(
        &self,
        actor: &Actor,
        session_id: &SessionId,
        label: Option<&str>,
    ) -> Result<Snapshot> {
        actor.require(Role::Member)?;
        let session = self.session(actor, session_id).await?;
        let label = parse_label(label, "manual")?;
        self.new_snapshot(&session, label, SnapshotKind::Manual, Some(actor)).await
    }

    async fn new_snapshot(
        &self,
        session: &Session,
        label: String,
        kind: SnapshotKind,
        actor: Option<&Actor>,
    ) -> Result<Snapshot> {
        if session.state == SessionState::Deleted {
            return Err(session_deleted());
        }
        let snapshot = Snapshot {
            id: SnapshotId::from_uuid(self.ports.random.uuid()),
            session_id: session.id.clone(),
            workspace_id: session.workspace_id.clone(),
            label,
            kind,
            content: None,
            created_by_user_id: actor.map(|a| a.user.id.clone()),
            created_at: self.now(),
            version: 1,
        };
        let mut batch = Batch::new();
        batch.push(Write::CreateSnapshot(snapshot.clone())).push(self.audit(
            "snapshot.created",
            actor.map(|a| &a.user.id),
            Some(&session.workspace_id),
            ("snapshot", snapshot.id.as_str()),
            json!({ "label": snapshot.label, "kind": kind.as_str(), "sessionId": session.id.as_str() }),
        ));
        match self.commit(batch).await {
            // The session went (purged) between the read and the commit.
            Err(e) if e.kind() == crate::ErrorKind::Conflict => Err(session_not_found()),
            other => other.map(|()| snapshot),
        }
    }

    /// The snapshot's content, streamed.
    pub async fn download_snapshot(
        &self,
        actor: &Actor,
        session_id: &SessionId,
        snapshot_id: &SnapshotId,
    ) -> Result<(Snapshot, Blob)> {
        let session = self.session(actor, session_id).await?;
        let snapshot = self.snapshot_of(&session, snapshot_id).await?;
        let missing = || Error::new(Code::SnapshotContentNotFound, "Snapshot content not uploaded");
        let key = snapshot.content.as_ref().map(|c| c.key.clone()).ok_or_else(missing)?;
        let blob = self.ports.blobs.get(&key).await?.ok_or_else(missing)?;
        Ok((snapshot, blob))
    }

    /// Deletes the snapshot's record and then its object. If it was the session's latest, the
    /// pointer moves back to the newest other snapshot with content (or to none).
    pub async fn delete_snapshot(&self, actor: &Actor, session_id: &SessionId, snapshot_id: &SnapshotId) -> Result<()> {
        actor.require(Role::Member)?;
        let session = self.session(actor, session_id).await?;
        let snapshot = self.snapshot_of(&session, snapshot_id).await?;
        let list = self.snapshot_list(&session.id).await?;
        let mut batch = Batch::new();
        batch.push(Write::DeleteSnapshot { snapshot_id: snapshot.id.clone(), expected_version: snapshot.version });
        if list.latest.as_ref() == Some(&snapshot.id) {
            let previous = list
                .snapshots
                .iter()
                .filter(|s| s.id != snapshot.id)
                .filter_map(|s| s.content.as_ref().map(|c| (c.uploaded_at, s.id.clone())))
                .max()
                .map(|(_, id)| id);
            batch.push(Write::ReplaceLatestSnapshot {
                session_id: session.id.clone(),
                from: snapshot.id.clone(),
                to: previous,
            });
        }
        batch.push(self.audit(
            "snapshot.deleted",
            Some(&actor.user.id),
            Some(&session.workspace_id),
            ("snapshot", snapshot.id.as_str()),
            json!({ "sessionId": session.id.as_str() }),
        ));
        match self.commit(batch).await {
            Err(e) if e.kind() == crate::ErrorKind::Conflict => {
                return Err(Error::new(Code::SnapshotChanged, "The snapshot changed meanwhile; nothing was deleted"))
            }
            other => other?,
        }
        if let Some(content) = &snapshot.content {
            self.discard_object(&content.key).await;
        }
        Ok(())
    }

    /// The runtime's automatic save: records a snapshot of the session (kind `automatic`) and
    /// grants a one-time upload of its archive, of any size up to the snapshot limit. The archive
    /// is then sent to `PUT /api/uploads/{secret}` (or [`upload_through_grant`](Self::upload_through_grant));
    /// only when that upload completes does the session's latest pointer move to it.
    pub async fn begin_automatic_snapshot(&self, session: &Session) -> Result<(Snapshot, Secret)> {
        self.begin_runtime_snapshot(session, "automatic".to_string(), SnapshotKind::Automatic, None).await
    }

    /// A snapshot record of `kind` and a grant for the runtime's archive (see above).
    pub(crate) async fn begin_runtime_snapshot(
        &self,
        session: &Session,
        label: String,
        kind: SnapshotKind,
        actor: Option<&Actor>,
    ) -> Result<(Snapshot, Secret)> {
        let current = self.ports.sessions.get(&session.workspace_id, &session.id).await?;
        let current = current.ok_or_else(session_not_found)?;
        let snapshot = self.new_snapshot(&current, label, kind, actor).await?;
        let content_type = super::snapshot_uploads::ARCHIVE_CONTENT_TYPE;
        let user = actor.map(|a| &a.user.id);
        let (_, secret) = self.grant_snapshot_upload(&current, &snapshot, content_type, None, user).await?;
        Ok((snapshot, secret))
    }

    /// The id of the session's latest good snapshot (for showing which one it is).
    pub async fn latest_snapshot_id(&self, session: &SessionId) -> Result<Option<SnapshotId>> {
        Ok(self.ports.snapshots.latest(session).await?.map(|s| s.id))
    }

    /// The session's latest good snapshot (its content's key and digest are what a restore
    /// reads and checks), or `None` when it has none.
    pub async fn latest_snapshot(&self, session: &Session) -> Result<Option<Snapshot>> {
        Ok(self.ports.snapshots.latest(&session.id).await?.filter(|s| s.content.is_some()))
    }

    /// Reconcile's part for snapshots: removes records whose content never arrived (created
    /// before the grant lifetime, with no grant still open) and objects under `snapshots/` that
    /// no record names (older than [`ORPHAN_GRACE_SECONDS`]; only where the blob store can list).
    /// Returns how many snapshots (records or objects) went.
    pub(crate) async fn sweep_snapshots(&self, scope: Option<&WorkspaceId>) -> Result<u64> {
        let now = self.now();
        let mut purged = 0;
        let before = now.plus_seconds(-self.config.upload_grant_ttl_seconds);
        for unfinished in self.ports.snapshots.unfinished(scope, before).await? {
            if unfinished.last_grant_expiry.is_some_and(|at| at.is_after(now)) {
                continue;
            }
            let s = &unfinished.snapshot;
            let mut batch = Batch::new();
            batch.push(Write::DeleteSnapshot { snapshot_id: s.id.clone(), expected_version: s.version });
            // Lost to an upload that just completed: the snapshot stays, as it should.
            if self.commit(batch).await.is_ok() {
                purged += 1;
            }
        }
        let prefix = match scope {
            Some(workspace) => format!("snapshots/{workspace}/"),
            None => "snapshots/".to_string(),
        };
        let Some(keys) = self.ports.blobs.list(&prefix).await? else { return Ok(purged) };
        for key in keys {
            if self.is_orphan(&key, now).await? {
                self.discard_object(&key).await;
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// True when no snapshot record names the object and the object is old enough (its key
    /// carries its upload's start time: `snapshots/<ws>/<session>/<snapshot>/<millis>-<uuid>.bin`).
    async fn is_orphan(&self, key: &str, now: crate::time::Timestamp) -> Result<bool> {
        let parts: Vec<&str> = key.split('/').collect();
        let [_, _, _, snapshot, file] = parts.as_slice() else { return Ok(false) };
        let Some(started) = file.split('-').next().and_then(|m| m.parse::<i64>().ok()) else { return Ok(false) };
        if crate::time::Timestamp(started).plus_seconds(ORPHAN_GRACE_SECONDS) > now {
            return Ok(false);
        }
        let record = self.ports.snapshots.find(&SnapshotId::from_raw(*snapshot)).await?;
        Ok(record.and_then(|s| s.content).is_none_or(|c| c.key != key))
    }

    /// Deletes an object no committed row points to; a failure leaves an unreachable object,
    /// which reconcile's sweep removes later.
    pub(crate) async fn discard_object(&self, key: &str) {
        let _ = self.ports.blobs.delete(key).await;
    }
}
