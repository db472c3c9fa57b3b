//! The audit log: the `audit_log` table, its statements and its [`AuditRepo`]. Details are stored
//! as JSON text.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::RowReader;
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::{AuditId, UserId, WorkspaceId};
use burstflare_core::model::AuditEntry;
use burstflare_core::ports::{AuditRepo, PortResult};

/// The columns audit statements list, in the order [`read_entry`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, action, actor_user_id, workspace_id, target_type, target_id, details, created_at"
    };
}

/// Newest first; `rowid` orders entries written in the same instant by insertion.
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM audit_log WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
);

const INSERT: &str = concat!("INSERT INTO audit_log (", columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

/// Reads the columns of `columns!()`.
fn read_entry(row: &mut RowReader) -> PortResult<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId::from_raw(row.text()?),
        action: row.text()?,
        actor_user_id: row.opt_text()?.map(UserId::from_raw),
        workspace_id: row.opt_text()?.map(WorkspaceId::from_raw),
        target_type: row.text()?,
        target_id: row.text()?,
        details: serde_json::from_str(&row.text()?)
            .map_err(|e| PortError::Other(format!("audit details are not JSON: {e}")))?,
        created_at: row.time()?,
    })
}

pub(crate) fn insert(entry: &AuditEntry) -> PortResult<Stmt> {
    let details = serde_json::to_string(&entry.details)
        .map_err(|e| PortError::Other(format!("audit details do not serialise: {e}")))?;
    Ok(Stmt::new(
        INSERT,
        vec![
            entry.id.as_str().into(),
            entry.action.as_str().into(),
            entry.actor_user_id.as_ref().map(UserId::as_str).into(),
            entry.workspace_id.as_ref().map(WorkspaceId::as_str).into(),
            entry.target_type.as_str().into(),
            entry.target_id.as_str().into(),
            details.into(),
            entry.created_at.millis().into(),
        ],
    ))
}

#[async_trait]
impl<E: SqlExecutor> AuditRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, workspace: &WorkspaceId, limit: u32) -> PortResult<Vec<AuditEntry>> {
        let params = vec![workspace.as_str().into(), i64::from(limit).into()];
        let rows = self.exec.query(Stmt::new(LIST, params)).await?;
        rows.into_iter().map(|row| read_entry(&mut RowReader::new(row))).collect()
    }
}
