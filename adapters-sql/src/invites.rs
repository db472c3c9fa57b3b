//! Workspace invites: the `invites` table, its statements and its [`InviteRepo`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{InviteId, UserId, WorkspaceId};
use burstflare_core::model::Invite;
use burstflare_core::ports::{InviteRepo, PortResult};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;
use burstflare_core::values::{Email, InviteStatus, Role};

/// The columns invite statements list, in the order [`read_invite`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, code_hash, workspace_id, email, role, status, created_by_user_id, \
         created_at, expires_at, accepted_at, accepted_by_user_id, version"
    };
}

const FIND_BY_CODE: &str = concat!("SELECT ", columns!(), " FROM invites WHERE code_hash = ?1");

const GET: &str = concat!("SELECT ", columns!(), " FROM invites WHERE id = ?1");

/// Pending and unexpired (expiry is strict: valid while `expires_at > now`), oldest first.
const LIST_PENDING: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM invites WHERE workspace_id = ?1 AND status = 'pending' AND expires_at > ?2 \
     ORDER BY created_at, rowid"
);

const INSERT: &str =
    concat!("INSERT INTO invites (", columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");

/// Guarded: matches nothing when the version moved on.
const UPDATE: &str = "UPDATE invites SET status = ?5, accepted_at = ?1, accepted_by_user_id = ?2, \
     version = ?6 WHERE id = ?3 AND version = ?4";

/// Reads the columns of `columns!()`.
fn read_invite(row: &mut RowReader) -> PortResult<Invite> {
    Ok(Invite {
        id: InviteId::from_raw(row.text()?),
        code_hash: SecretHash::from_stored(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        email: Email::from_stored(row.text()?),
        role: row.parsed(Role::parse)?,
        status: row.parsed(InviteStatus::parse)?,
        created_by_user_id: UserId::from_raw(row.text()?),
        created_at: row.time()?,
        expires_at: row.time()?,
        accepted_at: row.opt_time()?,
        accepted_by_user_id: row.opt_text()?.map(UserId::from_raw),
        version: row.int()?,
    })
}

pub(crate) fn insert(invite: &Invite) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            invite.id.as_str().into(),
            invite.code_hash.as_str().into(),
            invite.workspace_id.as_str().into(),
            invite.email.as_str().into(),
            invite.role.as_str().into(),
            invite.status.as_str().into(),
            invite.created_by_user_id.as_str().into(),
            invite.created_at.millis().into(),
            invite.expires_at.millis().into(),
            invite.accepted_at.map(Timestamp::millis).into(),
            invite.accepted_by_user_id.as_ref().map(UserId::as_str).into(),
            invite.version.into(),
        ],
    )
}

pub(crate) fn update(i: &Invite, expected_version: i64) -> Stmt {
    let params = vec![
        i.accepted_at.map(Timestamp::millis).into(),
        i.accepted_by_user_id.as_ref().map(UserId::as_str).into(),
        i.id.as_str().into(),
        expected_version.into(),
        i.status.as_str().into(),
        i.version.into(),
    ];
    Stmt::new(UPDATE, params)
}

#[async_trait]
impl<E: SqlExecutor> InviteRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, id: &InviteId) -> PortResult<Option<Invite>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into()])).await?;
        first(rows).map(|mut row| read_invite(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_by_code(&self, code: &SecretHash) -> PortResult<Option<Invite>> {
        let rows = self.exec.query(Stmt::new(FIND_BY_CODE, vec![code.as_str().into()])).await?;
        first(rows).map(|mut row| read_invite(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list_pending(&self, workspace: &WorkspaceId, now: Timestamp) -> PortResult<Vec<Invite>> {
        let params = vec![workspace.as_str().into(), now.millis().into()];
        let rows = self.exec.query(Stmt::new(LIST_PENDING, params)).await?;
        rows.into_iter().map(|row| read_invite(&mut RowReader::new(row))).collect()
    }
}
