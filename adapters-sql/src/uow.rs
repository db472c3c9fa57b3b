//! The unit of work: translates a core [`Batch`] into statements and commits them as one atomic
//! batch. Every guarded UPDATE is followed by the batch-guard insert, so an UPDATE that matched no
//! row fails the guard's CHECK and the whole batch rolls back as `Conflict`.

use crate::exec::{SqlExecutor, Stmt};
use crate::{
    audit, builds, devices, grants, invites, memberships, releases, templates, tokens, usage, users, versions,
    workspaces, SqlRepos,
};
use async_trait::async_trait;
use burstflare_core::ports::{PortResult, UnitOfWork};
use burstflare_core::store::{Batch, Counted, Write};

/// Fails (CHECK `ok > 0`) when the statement before it changed no row.
const GUARD: &str = "INSERT OR REPLACE INTO batch_guard (ok) VALUES (changes())";

/// The quota guard: writes `count <= max` (0 or 1) into the guard, whose CHECK fails on 0.
fn at_most(counted: &Counted, max: u64) -> Stmt {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    match counted {
        Counted::Templates(workspace) => Stmt::new(
            "INSERT OR REPLACE INTO batch_guard (ok) SELECT COUNT(*) <= ?2 FROM templates WHERE workspace_id = ?1",
            vec![workspace.as_str().into(), max.into()],
        ),
    }
}

/// The statement of one write, and whether it is guarded (must change a row to count).
fn translate(write: &Write) -> PortResult<(Stmt, bool)> {
    Ok(match write {
        Write::CreateUser { user, password_hash } => (users::insert(user, password_hash), false),
        Write::CreateWorkspace(workspace) => (workspaces::insert(workspace), false),
        Write::CreateMembership(membership) => (memberships::insert(membership), false),
        Write::CreateInvite(invite) => (invites::insert(invite), false),
        Write::CreateToken(token) => (tokens::insert(token), false),
        Write::CreateDevice(device) => (devices::insert(device), false),
        Write::Audit(entry) => (audit::insert(entry)?, false),
        Write::RevokeToken { token_id, at } => (tokens::revoke(token_id, *at), false),
        Write::RevokeFamily { family_id, at } => (tokens::revoke_family(family_id, *at), false),
        Write::SetMemberRole { workspace_id, user_id, role, expected_version } => {
            (memberships::set_role(workspace_id, user_id, *role, *expected_version), true)
        }
        Write::SetWorkspacePlan { workspace_id, plan, expected_version } => {
            (workspaces::set_plan(workspace_id, *plan, *expected_version), true)
        }
        Write::AcceptInvite { invite_id, user_id, at, expected_version } => {
            (invites::accept(invite_id, user_id, *at, *expected_version), true)
        }
        Write::UseRefreshToken { token_id, at, expected_version } => {
            (tokens::use_refresh(token_id, *at, *expected_version), true)
        }
        Write::DecideDevice { device_id, approved, user_id, workspace_id, at, expected_version } => {
            (devices::decide(device_id, *approved, user_id, workspace_id, *at, *expected_version), true)
        }
        Write::ExchangeDevice { device_id, expected_version } => {
            (devices::exchange(device_id, *expected_version), true)
        }
        Write::CreateTemplate(template) => (templates::insert(template), false),
        Write::UpdateTemplate { template, expected_version } => (templates::update(template, *expected_version), true),
        Write::DeleteTemplate { template_id, expected_version } => {
            (templates::delete(template_id, *expected_version), true)
        }
        Write::CreateVersion(version) => (versions::insert(version)?, false),
        Write::UpdateVersion { version, expected_version } => (versions::update(version, *expected_version)?, true),
        Write::CreateBuild(build) => (builds::insert(build)?, false),
        Write::UpdateBuild { build, expected_version } => (builds::update(build, *expected_version)?, true),
        Write::CreateRelease(release) => (releases::insert(release), false),
        Write::CreateGrant(grant) => (grants::insert(grant)?, false),
        Write::UseGrant { grant_id, at, expected_version } => {
            (grants::use_grant(grant_id, *at, *expected_version), true)
        }
        Write::Usage(event) => (usage::insert(event)?, false),
        Write::AtMost { counted, max } => (at_most(counted, *max), false),
    })
}

/// The statements that commit `batch`, in order, each guarded one followed by the guard.
pub(crate) fn statements(batch: &Batch) -> PortResult<Vec<Stmt>> {
    let mut stmts = Vec::with_capacity(batch.writes.len() * 2);
    for write in &batch.writes {
        let (stmt, guarded) = translate(write)?;
        stmts.push(stmt);
        if guarded {
            stmts.push(Stmt::new(GUARD, Vec::new()));
        }
    }
    Ok(stmts)
}

#[async_trait]
impl<E: SqlExecutor> UnitOfWork for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, fields(writes = batch.writes.len()), err(level = "warn"))]
    async fn commit(&self, batch: Batch) -> PortResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.exec.batch(statements(&batch)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::ids::{GrantId, TemplateId, WorkspaceId};
    use burstflare_core::time::Timestamp;
    use burstflare_core::values::Plan;

    #[test]
    fn guarded_writes_are_followed_by_the_guard() {
        let mut batch = Batch::new();
        batch.push(Write::SetWorkspacePlan {
            workspace_id: WorkspaceId::from_raw("ws_1"),
            plan: Plan::Pro,
            expected_version: 3,
        });
        let stmts = statements(&batch).unwrap();
        assert_eq!(stmts.len(), 2);
        assert!(stmts[0].sql.starts_with("UPDATE workspaces"));
        assert_eq!(stmts[1].sql, GUARD);
    }

    #[test]
    fn template_deletes_and_grant_uses_are_guarded() {
        let mut batch = Batch::new();
        batch
            .push(Write::DeleteTemplate { template_id: TemplateId::from_raw("tpl_1"), expected_version: 2 })
            .push(Write::UseGrant { grant_id: GrantId::from_raw("upg_1"), at: Timestamp(5), expected_version: 1 });
        let sql: Vec<&str> = statements(&batch).unwrap().iter().map(|s| s.sql).collect();
        assert_eq!(sql.len(), 4);
        assert!(sql[0].starts_with("DELETE FROM templates"));
        assert!(sql[2].starts_with("UPDATE upload_grants"));
        assert_eq!((sql[1], sql[3]), (GUARD, GUARD));
    }
}
