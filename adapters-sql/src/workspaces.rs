//! Workspaces: the `workspaces` table, its statements and its [`WorkspaceRepo`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, to_u32, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::{UserId, WorkspaceId};
use burstflare_core::model::Workspace;
use burstflare_core::ports::{PortResult, WorkspaceRepo};
use burstflare_core::values::{Plan, Role};

const GET: &str = "SELECT id, name, owner_user_id, plan, created_at, version FROM workspaces WHERE id = ?1";

/// Oldest membership first; `rowid` keeps insertion order among memberships of the same instant.
const LIST_FOR_USER: &str = "SELECT w.id, w.name, w.owner_user_id, w.plan, w.created_at, w.version, m.role \
     FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
     WHERE m.user_id = ?1 ORDER BY m.created_at, m.rowid";

const MEMBER_COUNT: &str = "SELECT COUNT(*) FROM memberships WHERE workspace_id = ?1";

const INSERT: &str = "INSERT INTO workspaces (id, name, owner_user_id, plan, created_at, version) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Guarded: matches nothing when the version moved on.
const UPDATE: &str = "UPDATE workspaces SET plan = ?1, version = ?4 WHERE id = ?2 AND version = ?3";

/// The workspace's columns and its member count, or `None` when the columns are null (a left
/// join that found no workspace).
pub(crate) fn read_opt_workspace_with_count(row: &mut RowReader) -> PortResult<Option<(Workspace, u32)>> {
    let Some(id) = row.opt_text()? else { return Ok(None) };
    let workspace = read_workspace_after_id(row, id)?;
    Ok(Some((workspace, to_u32(row.int()?)?)))
}

/// Reads `id, name, owner_user_id, plan, created_at, version`.
fn read_workspace(row: &mut RowReader) -> PortResult<Workspace> {
    let id = row.text()?;
    read_workspace_after_id(row, id)
}

fn read_workspace_after_id(row: &mut RowReader, id: String) -> PortResult<Workspace> {
    Ok(Workspace {
        id: WorkspaceId::from_raw(id),
        name: row.text()?,
        owner_user_id: UserId::from_raw(row.text()?),
        plan: Plan::from_stored(&row.text()?),
        created_at: row.time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(workspace: &Workspace) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            workspace.id.as_str().into(),
            workspace.name.as_str().into(),
            workspace.owner_user_id.as_str().into(),
            workspace.plan.as_str().into(),
            workspace.created_at.millis().into(),
            workspace.version.into(),
        ],
    )
}

pub(crate) fn update(w: &Workspace, expected_version: i64) -> Stmt {
    Stmt::new(UPDATE, vec![w.plan.as_str().into(), w.id.as_str().into(), expected_version.into(), w.version.into()])
}

#[async_trait]
impl<E: SqlExecutor> WorkspaceRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, id: &WorkspaceId) -> PortResult<Option<Workspace>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into()])).await?;
        first(rows).map(|mut row| read_workspace(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list_for_user(&self, user: &UserId) -> PortResult<Vec<(Workspace, Role)>> {
        let rows = self.exec.query(Stmt::new(LIST_FOR_USER, vec![user.as_str().into()])).await?;
        rows.into_iter()
            .map(|row| {
                let mut row = RowReader::new(row);
                let workspace = read_workspace(&mut row)?;
                Ok((workspace, row.parsed(Role::parse)?))
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn member_count(&self, id: &WorkspaceId) -> PortResult<u32> {
        let rows = self.exec.query(Stmt::new(MEMBER_COUNT, vec![id.as_str().into()])).await?;
        let mut row = first(rows).ok_or_else(|| PortError::Other("COUNT returned no row".into()))?;
        to_u32(row.int()?)
    }
}
