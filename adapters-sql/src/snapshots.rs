//! Snapshots: the `snapshots` table, the sessions' `latest_snapshot_id` pointer, their statements
//! and the [`SnapshotRepo`]. A snapshot's content columns are all set or all NULL.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, to_i64, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{SessionId, SnapshotId, UserId, WorkspaceId};
use burstflare_core::model::{Snapshot, SnapshotContent, SnapshotKind, UnfinishedSnapshot};
use burstflare_core::ports::{PortResult, SnapshotRepo};
use burstflare_core::time::Timestamp;

/// The columns snapshot reads list, in the order [`read_snapshot`] uses (prefixed `s.`).
macro_rules! columns {
    () => {
        "s.id, s.session_id, s.workspace_id, s.label, s.kind, s.object_key, s.content_type, s.bytes, s.sha256, \
         s.uploaded_at, s.created_by_user_id, s.created_at, s.version"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM snapshots s WHERE s.id = ?1 AND s.session_id = ?2");
const FIND: &str = concat!("SELECT ", columns!(), " FROM snapshots s WHERE s.id = ?1");
const LIST: &str =
    concat!("SELECT ", columns!(), " FROM snapshots s WHERE s.session_id = ?1 ORDER BY s.created_at, s.rowid");
const LATEST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions x JOIN snapshots s ON s.id = x.latest_snapshot_id AND s.session_id = x.id WHERE x.id = ?1"
);
/// `?1` NULL: every workspace's.
const UNFINISHED: &str = concat!(
    "SELECT ",
    columns!(),
    ", (SELECT MAX(g.expires_at) FROM upload_grants g WHERE g.snapshot_id = s.id) FROM snapshots s \
     WHERE s.uploaded_at IS NULL AND s.created_at <= ?2 AND (?1 IS NULL OR s.workspace_id = ?1) \
     ORDER BY s.created_at, s.rowid"
);
const STORED_BYTES: &str = "SELECT COALESCE(SUM(bytes), 0) FROM snapshots WHERE workspace_id = ?1";

/// Fails on the foreign key when the session is gone.
const INSERT: &str = "INSERT INTO snapshots (id, session_id, workspace_id, label, kind, object_key, content_type, \
     bytes, sha256, uploaded_at, created_by_user_id, created_at, version) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
/// Guarded: stores the content and version.
const UPDATE: &str = "UPDATE snapshots SET object_key = ?1, content_type = ?2, bytes = ?3, sha256 = ?4, \
     uploaded_at = ?5, version = ?6 WHERE id = ?7 AND version = ?8";
/// Guarded; the snapshot's grants follow through the cascade.
const DELETE: &str = "DELETE FROM snapshots WHERE id = ?1 AND version = ?2";
/// Guarded: changes no row unless the snapshot is an uploaded one of the session.
const MARK_LATEST: &str = "UPDATE sessions SET latest_snapshot_id = ?2 WHERE id = ?1 AND EXISTS \
     (SELECT 1 FROM snapshots WHERE id = ?2 AND session_id = ?1 AND uploaded_at IS NOT NULL)";
/// Not guarded: a pointer that moved meanwhile is left alone.
const REPLACE_LATEST: &str = "UPDATE sessions SET latest_snapshot_id = ?3 WHERE id = ?1 AND latest_snapshot_id = ?2 \
     AND (?3 IS NULL OR EXISTS (SELECT 1 FROM snapshots WHERE id = ?3 AND session_id = ?1 AND uploaded_at IS NOT NULL))";
/// The quota guard over the workspace's snapshot bytes.
pub(crate) const AT_MOST_BYTES: &str = "INSERT OR REPLACE INTO batch_guard (ok) \
     SELECT COALESCE(SUM(bytes), 0) <= ?2 FROM snapshots WHERE workspace_id = ?1";

fn read_snapshot(row: &mut RowReader) -> PortResult<Snapshot> {
    let id = SnapshotId::from_raw(row.text()?);
    let session_id = SessionId::from_raw(row.text()?);
    let workspace_id = WorkspaceId::from_raw(row.text()?);
    let label = row.text()?;
    let kind = SnapshotKind::from_stored(&row.text()?);
    let (key, content_type, bytes, sha256, uploaded_at) =
        (row.opt_text()?, row.opt_text()?, row.opt_uint()?, row.opt_text()?, row.opt_time()?);
    let content = match (key, content_type, bytes, sha256, uploaded_at) {
        (Some(key), Some(content_type), Some(bytes), Some(sha256), Some(uploaded_at)) => {
            Some(SnapshotContent { key, content_type, bytes, sha256, uploaded_at })
        }
        _ => None,
    };
    Ok(Snapshot {
        id,
        session_id,
        workspace_id,
        label,
        kind,
        content,
        created_by_user_id: row.opt_text()?.map(UserId::from_raw),
        created_at: row.time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(s: &Snapshot) -> PortResult<Stmt> {
    let c = s.content.as_ref();
    Ok(Stmt::new(
        INSERT,
        vec![
            s.id.as_str().into(),
            s.session_id.as_str().into(),
            s.workspace_id.as_str().into(),
            s.label.as_str().into(),
            s.kind.as_str().into(),
            c.map(|c| c.key.clone()).into(),
            c.map(|c| c.content_type.clone()).into(),
            c.map(|c| to_i64(c.bytes)).transpose()?.into(),
            c.map(|c| c.sha256.clone()).into(),
            c.map(|c| c.uploaded_at.millis()).into(),
            s.created_by_user_id.as_ref().map(|u| u.as_str().to_string()).into(),
            s.created_at.millis().into(),
            s.version.into(),
        ],
    ))
}

pub(crate) fn update(s: &Snapshot, expected_version: i64) -> PortResult<Stmt> {
    let c = s.content.as_ref();
    Ok(Stmt::new(
        UPDATE,
        vec![
            c.map(|c| c.key.clone()).into(),
            c.map(|c| c.content_type.clone()).into(),
            c.map(|c| to_i64(c.bytes)).transpose()?.into(),
            c.map(|c| c.sha256.clone()).into(),
            c.map(|c| c.uploaded_at.millis()).into(),
            s.version.into(),
            s.id.as_str().into(),
            expected_version.into(),
        ],
    ))
}

pub(crate) fn delete(id: &SnapshotId, expected_version: i64) -> Stmt {
    Stmt::new(DELETE, vec![id.as_str().into(), expected_version.into()])
}

pub(crate) fn mark_latest(session: &SessionId, snapshot: &SnapshotId) -> Stmt {
    Stmt::new(MARK_LATEST, vec![session.as_str().into(), snapshot.as_str().into()])
}

pub(crate) fn replace_latest(session: &SessionId, from: &SnapshotId, to: Option<&SnapshotId>) -> Stmt {
    let to = to.map(|t| t.as_str().to_string());
    Stmt::new(REPLACE_LATEST, vec![session.as_str().into(), from.as_str().into(), to.into()])
}

impl<E: SqlExecutor> SqlRepos<E> {
    async fn snapshots_of(&self, stmt: Stmt) -> PortResult<Vec<Snapshot>> {
        let rows = self.exec.query(stmt).await?;
        rows.into_iter().map(|row| read_snapshot(&mut RowReader::new(row))).collect()
    }
}

#[async_trait]
impl<E: SqlExecutor> SnapshotRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, session: &SessionId, id: &SnapshotId) -> PortResult<Option<Snapshot>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into(), session.as_str().into()])).await?;
        first(rows).map(|mut row| read_snapshot(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find(&self, id: &SnapshotId) -> PortResult<Option<Snapshot>> {
        let rows = self.exec.query(Stmt::new(FIND, vec![id.as_str().into()])).await?;
        first(rows).map(|mut row| read_snapshot(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, session: &SessionId) -> PortResult<Vec<Snapshot>> {
        self.snapshots_of(Stmt::new(LIST, vec![session.as_str().into()])).await
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn latest(&self, session: &SessionId) -> PortResult<Option<Snapshot>> {
        Ok(self.snapshots_of(Stmt::new(LATEST, vec![session.as_str().into()])).await?.into_iter().next())
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn unfinished(
        &self,
        workspace: Option<&WorkspaceId>,
        before: Timestamp,
    ) -> PortResult<Vec<UnfinishedSnapshot>> {
        let workspace = workspace.map(|w| w.as_str().to_string());
        let rows = self.exec.query(Stmt::new(UNFINISHED, vec![workspace.into(), before.millis().into()])).await?;
        rows.into_iter()
            .map(|row| {
                let mut row = RowReader::new(row);
                let snapshot = read_snapshot(&mut row)?;
                Ok(UnfinishedSnapshot { snapshot, last_grant_expiry: row.opt_time()? })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn stored_bytes(&self, workspace: &WorkspaceId) -> PortResult<u64> {
        let rows = self.exec.query(Stmt::new(STORED_BYTES, vec![workspace.as_str().into()])).await?;
        first(rows).map_or(Ok(0), |mut row| row.uint())
    }
}
