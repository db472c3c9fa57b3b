//! Usage (metering) events: the `usage_events` table, written through the unit of work (details
//! as JSON text) and summed by kind for the usage report.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{json_text, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::model::UsageEvent;
use burstflare_core::ports::{PortResult, UsageRepo};
use burstflare_core::time::Timestamp;

const TOTALS: &str = "SELECT kind, SUM(value) FROM usage_events WHERE workspace_id = ?1 AND created_at >= ?2 \
     GROUP BY kind ORDER BY kind";

const INSERT: &str =
    "INSERT INTO usage_events (id, workspace_id, kind, value, details, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(crate) fn insert(event: &UsageEvent) -> PortResult<Stmt> {
    Ok(Stmt::new(
        INSERT,
        vec![
            event.id.as_str().into(),
            event.workspace_id.as_str().into(),
            event.kind.as_str().into(),
            event.value.into(),
            json_text(&event.details)?.into(),
            event.created_at.millis().into(),
        ],
    ))
}

#[async_trait]
impl<E: SqlExecutor> UsageRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn totals(&self, workspace: &WorkspaceId, since: Timestamp) -> PortResult<Vec<(String, i64)>> {
        let params = vec![workspace.as_str().into(), since.millis().into()];
        let rows = self.exec.query(Stmt::new(TOTALS, params)).await?;
        rows.into_iter()
            .map(|row| {
                let mut row = RowReader::new(row);
                Ok((row.text()?, row.int()?))
            })
            .collect()
    }
}
