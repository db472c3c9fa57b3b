//! Memberships: the `memberships` table, its statements and its [`MembershipRepo`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::users::read_user_without_id;
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{UserId, WorkspaceId};
use burstflare_core::model::{Member, Membership};
use burstflare_core::ports::{MembershipRepo, PortResult};
use burstflare_core::values::Role;

const GET: &str = "SELECT workspace_id, user_id, role, created_at, version \
     FROM memberships WHERE workspace_id = ?1 AND user_id = ?2";

/// Oldest first; `rowid` keeps insertion order among members who joined in the same instant.
const LIST: &str = "SELECT m.workspace_id, m.user_id, m.role, m.created_at, m.version, \
     u.email AS user_email, u.name AS user_name, u.created_at AS user_created_at \
     FROM memberships m JOIN users u ON u.id = m.user_id \
     WHERE m.workspace_id = ?1 ORDER BY m.created_at, m.rowid";

const INSERT: &str = "INSERT INTO memberships (workspace_id, user_id, role, created_at, version) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// Guarded: matches nothing when the version moved on.
const UPDATE: &str = "UPDATE memberships SET role = ?1, version = ?5 \
     WHERE workspace_id = ?2 AND user_id = ?3 AND version = ?4";

/// Guarded: matches nothing when the membership is gone or its version moved on.
const DELETE: &str = "DELETE FROM memberships WHERE workspace_id = ?1 AND user_id = ?2 AND version = ?3";

/// Reads `workspace_id, user_id, role, created_at, version`.
fn read_membership(row: &mut RowReader) -> PortResult<Membership> {
    Ok(Membership {
        workspace_id: WorkspaceId::from_raw(row.text()?),
        user_id: UserId::from_raw(row.text()?),
        role: row.parsed(Role::parse)?,
        created_at: row.time()?,
        version: row.int()?,
    })
}

pub(crate) fn insert(membership: &Membership) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            membership.workspace_id.as_str().into(),
            membership.user_id.as_str().into(),
            membership.role.as_str().into(),
            membership.created_at.millis().into(),
            membership.version.into(),
        ],
    )
}

pub(crate) fn update(m: &Membership, expected_version: i64) -> Stmt {
    let (workspace, user) = (m.workspace_id.as_str(), m.user_id.as_str());
    Stmt::new(
        UPDATE,
        vec![m.role.as_str().into(), workspace.into(), user.into(), expected_version.into(), m.version.into()],
    )
}

pub(crate) fn delete(workspace: &WorkspaceId, user: &UserId, expected_version: i64) -> Stmt {
    Stmt::new(DELETE, vec![workspace.as_str().into(), user.as_str().into(), expected_version.into()])
}

#[async_trait]
impl<E: SqlExecutor> MembershipRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, workspace: &WorkspaceId, user: &UserId) -> PortResult<Option<Membership>> {
        let params = vec![workspace.as_str().into(), user.as_str().into()];
        let rows = self.exec.query(Stmt::new(GET, params)).await?;
        first(rows).map(|mut row| read_membership(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Member>> {
        let rows = self.exec.query(Stmt::new(LIST, vec![workspace.as_str().into()])).await?;
        rows.into_iter()
            .map(|row| {
                let mut row = RowReader::new(row);
                let membership = read_membership(&mut row)?;
                let user = read_user_without_id(&mut row, membership.user_id.clone())?;
                Ok(Member { membership, user })
            })
            .collect()
    }
}
