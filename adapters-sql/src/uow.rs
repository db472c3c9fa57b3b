//! The unit of work: translates a core [`Batch`] into statements and commits them as one atomic
//! batch. Every guarded UPDATE is followed by the batch-guard insert, so an UPDATE that matched no
//! row fails the guard's CHECK and the whole batch rolls back as `Conflict`.

use crate::exec::{SqlExecutor, Stmt};
use crate::{
    audit, builds, devices, grants, invites, jobs, memberships, releases, sessions, snapshots, templates, tokens,
    usage, users, versions, workspaces, SqlRepos,
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
        Counted::ActiveSessions(workspace) => {
            Stmt::new(sessions::COUNT_ACTIVE, vec![workspace.as_str().into(), max.into()])
        }
        Counted::SnapshotBytes(workspace) => {
            Stmt::new(snapshots::AT_MOST_BYTES, vec![workspace.as_str().into(), max.into()])
        }
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
        Write::RevokeMemberTokens { workspace_id, user_id, at } => {
            (tokens::revoke_member(workspace_id, user_id, *at), false)
        }
        Write::DeleteMembership { workspace_id, user_id, expected_version } => {
            (memberships::delete(workspace_id, user_id, *expected_version), true)
        }
        Write::UpdateMembership { membership, expected_version } => {
            (memberships::update(membership, *expected_version), true)
        }
        Write::UpdateWorkspace { workspace, expected_version } => {
            (workspaces::update(workspace, *expected_version), true)
        }
        Write::UpdateInvite { invite, expected_version } => (invites::update(invite, *expected_version), true),
        Write::UpdateToken { token, expected_version } => (tokens::update(token, *expected_version), true),
        Write::UpdateDevice { device, expected_version } => (devices::update(device, *expected_version), true),
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
        Write::UpdateGrant { grant, expected_version } => (grants::update(grant, *expected_version), true),
        Write::Usage(event) => (usage::insert(event)?, false),
        Write::CreateSession(session) => (sessions::insert(session), false),
        Write::UpdateSession { session, expected_version } => (sessions::update(session, *expected_version), true),
        Write::AppendSessionEvent(event) => (sessions::insert_event(event)?, false),
        Write::TouchSession { session_id, at } => (sessions::touch(session_id, *at), false),
        Write::PurgeSession { session_id, expected_version } => (sessions::purge(session_id, *expected_version), true),
        Write::CreateSnapshot(snapshot) => (snapshots::insert(snapshot)?, false),
        Write::UpdateSnapshot { snapshot, expected_version } => (snapshots::update(snapshot, *expected_version)?, true),
        Write::DeleteSnapshot { snapshot_id, expected_version } => {
            (snapshots::delete(snapshot_id, *expected_version), true)
        }
        Write::MarkLatestSnapshot { session_id, snapshot_id } => {
            (snapshots::mark_latest(session_id, snapshot_id), true)
        }
        Write::ReplaceLatestSnapshot { session_id, from, to } => {
            (snapshots::replace_latest(session_id, from, to.as_ref()), false)
        }
        Write::Enqueue(job) => (jobs::insert(job)?, false),
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
    use crate::exec::SqlValue;
    use burstflare_core::ids::{SessionId, TemplateId, UserId, WorkspaceId};
    use burstflare_core::model::Workspace;
    use burstflare_core::time::Timestamp;
    use burstflare_core::values::Plan;

    #[test]
    fn guarded_writes_are_followed_by_the_guard() {
        let mut batch = Batch::new();
        let workspace = Workspace {
            id: WorkspaceId::from_raw("ws_1"),
            name: "w".into(),
            owner_user_id: UserId::from_raw("usr_1"),
            plan: Plan::Pro,
            created_at: Timestamp(0),
            version: 4,
        };
        batch.push(Write::UpdateWorkspace { workspace, expected_version: 3 });
        let stmts = statements(&batch).unwrap();
        assert_eq!(stmts.len(), 2);
        assert!(stmts[0].sql.starts_with("UPDATE workspaces"));
        assert_eq!(stmts[0].params.last(), Some(&SqlValue::Int(4)), "the version core decided is stored");
        assert_eq!(stmts[1].sql, GUARD);
    }

    #[test]
    fn deletes_are_guarded_and_quotas_are_guards_themselves() {
        let mut batch = Batch::new();
        let workspace = WorkspaceId::from_raw("ws_1");
        batch
            .push(Write::DeleteTemplate { template_id: TemplateId::from_raw("tpl_1"), expected_version: 2 })
            .push(Write::AtMost { counted: Counted::Templates(workspace), max: 10 });
        let sql: Vec<&str> = statements(&batch).unwrap().iter().map(|s| s.sql).collect();
        assert_eq!(sql.len(), 3);
        assert!(sql[0].starts_with("DELETE FROM templates"));
        assert_eq!(sql[1], GUARD);
        assert!(sql[2].starts_with("INSERT OR REPLACE INTO batch_guard"), "{}", sql[2]);
    }

    #[test]
    fn departures_delete_guarded_and_revoke_unguarded() {
        let (workspace, user) = (WorkspaceId::from_raw("ws_1"), UserId::from_raw("usr_2"));
        let mut batch = Batch::new();
        batch
            .push(Write::DeleteMembership {
                workspace_id: workspace.clone(),
                user_id: user.clone(),
                expected_version: 3,
            })
            .push(Write::RevokeMemberTokens { workspace_id: workspace, user_id: user, at: Timestamp(9) });
        let stmts = statements(&batch).unwrap();
        let sql: Vec<&str> = stmts.iter().map(|s| s.sql).collect();
        assert_eq!(sql.len(), 3);
        assert!(sql[0].starts_with("DELETE FROM memberships") && sql[0].contains("version = ?3"), "{}", sql[0]);
        assert_eq!(sql[1], GUARD);
        assert!(sql[2].starts_with("UPDATE tokens") && sql[2].contains("revoked_at IS NULL"), "{}", sql[2]);
        assert_eq!(stmts[2].params, vec![SqlValue::Int(9), SqlValue::from("usr_2"), SqlValue::from("ws_1")]);
    }

    #[test]
    fn session_updates_and_purges_are_guarded_and_count_active_slots() {
        let mut batch = Batch::new();
        let workspace = WorkspaceId::from_raw("ws_1");
        batch
            .push(Write::PurgeSession { session_id: SessionId::from_raw("ses_1"), expected_version: 3 })
            .push(Write::AtMost { counted: Counted::ActiveSessions(workspace), max: 3 });
        let stmts = statements(&batch).unwrap();
        let sql: Vec<&str> = stmts.iter().map(|s| s.sql).collect();
        assert_eq!(sql.len(), 3);
        assert!(sql[0].starts_with("DELETE FROM sessions"));
        assert_eq!(sql[1], GUARD);
        assert!(sql[2].contains("FROM sessions") && sql[2].contains("'running'"), "{}", sql[2]);
        assert_eq!(stmts[2].params, vec![SqlValue::from("ws_1"), SqlValue::Int(3)]);
    }
}
