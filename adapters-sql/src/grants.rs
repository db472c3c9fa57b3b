//! One-time upload grants: the `upload_grants` table, its statements and its [`UploadGrantRepo`].
//! The grant's secret is stored only as its hash; its target is a bundle (template and version
//! set) or a snapshot (session and snapshot set).

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, to_i64, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::{GrantId, SessionId, SnapshotId, TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::{GrantTarget, UploadGrant};
use burstflare_core::ports::{PortResult, UploadGrantRepo};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;

/// The columns grant statements list, in the order [`read_grant`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, secret_hash, workspace_id, template_id, version_id, session_id, snapshot_id, content_type, bytes, \
         created_by_user_id, created_at, expires_at, used_at, version"
    };
}

const FIND_BY_SECRET: &str = concat!("SELECT ", columns!(), " FROM upload_grants WHERE secret_hash = ?1");

/// Fails on UNIQUE (secret_hash), and on the foreign keys when the target is gone.
const INSERT: &str = concat!(
    "INSERT INTO upload_grants (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
);

/// Guarded, and only while unused: a grant is spent once.
const UPDATE: &str = "UPDATE upload_grants SET used_at = ?1, version = ?4 WHERE id = ?2 AND version = ?3";

/// Reads the columns of `columns!()`.
fn read_grant(row: &mut RowReader) -> PortResult<UploadGrant> {
    let (id, secret_hash, workspace_id) = (row.text()?, row.text()?, row.text()?);
    let target = match (row.opt_text()?, row.opt_text()?, row.opt_text()?, row.opt_text()?) {
        (Some(t), Some(v), None, None) => {
            GrantTarget::Bundle { template_id: TemplateId::from_raw(t), version_id: VersionId::from_raw(v) }
        }
        (None, None, Some(s), Some(n)) => {
            GrantTarget::Snapshot { session_id: SessionId::from_raw(s), snapshot_id: SnapshotId::from_raw(n) }
        }
        _ => return Err(PortError::Other(format!("upload grant {id} has no single target"))),
    };
    Ok(UploadGrant {
        id: GrantId::from_raw(id),
        secret_hash: SecretHash::from_stored(secret_hash),
        workspace_id: WorkspaceId::from_raw(workspace_id),
        target,
        content_type: row.text()?,
        bytes: row.opt_uint()?,
        created_by_user_id: row.opt_text()?.map(UserId::from_raw),
        created_at: row.time()?,
        expires_at: row.time()?,
        used_at: row.opt_time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(grant: &UploadGrant) -> PortResult<Stmt> {
    let text = |s: &str| Some(s.to_string());
    let (t, v, s, n) = match &grant.target {
        GrantTarget::Bundle { template_id, version_id } => {
            (text(template_id.as_str()), text(version_id.as_str()), None, None)
        }
        GrantTarget::Snapshot { session_id, snapshot_id } => {
            (None, None, text(session_id.as_str()), text(snapshot_id.as_str()))
        }
    };
    Ok(Stmt::new(
        INSERT,
        vec![
            grant.id.as_str().into(),
            grant.secret_hash.as_str().into(),
            grant.workspace_id.as_str().into(),
            t.into(),
            v.into(),
            s.into(),
            n.into(),
            grant.content_type.as_str().into(),
            grant.bytes.map(to_i64).transpose()?.into(),
            grant.created_by_user_id.as_ref().map(|u| u.as_str().to_string()).into(),
            grant.created_at.millis().into(),
            grant.expires_at.millis().into(),
            grant.used_at.map(Timestamp::millis).into(),
            grant.version.into(),
        ],
    ))
}

pub(crate) fn update(g: &UploadGrant, expected_version: i64) -> Stmt {
    let params =
        vec![g.used_at.map(Timestamp::millis).into(), g.id.as_str().into(), expected_version.into(), g.version.into()];
    Stmt::new(UPDATE, params)
}

#[async_trait]
impl<E: SqlExecutor> UploadGrantRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_by_secret(&self, hash: &SecretHash) -> PortResult<Option<UploadGrant>> {
        let rows = self.exec.query(Stmt::new(FIND_BY_SECRET, vec![hash.as_str().into()])).await?;
        first(rows).map(|mut row| read_grant(&mut row)).transpose()
    }
}
