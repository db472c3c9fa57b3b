//! Token records: the `tokens` table, its statements and its [`TokenRepo`], whose `find_credential`
//! (token + user + membership in one query) runs on every authenticated request.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::users::read_user_without_id;
use crate::workspaces::read_opt_workspace_with_count;
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{FamilyId, SessionId, TokenId, UserId, WorkspaceId};
use burstflare_core::model::{Credential, Membership, Token};
use burstflare_core::ports::{CredentialWithWorkspace, PortResult, TokenRepo};
use burstflare_core::secret::SecretHash;
use burstflare_core::time::Timestamp;
use burstflare_core::values::{ClientKind, Role, TokenKind};

/// The columns token statements list, in the order [`read_token`] and [`insert`] use.
macro_rules! columns {
    () => {
        "id, hash, kind, client, family_id, user_id, workspace_id, created_at, expires_at, \
         used_at, revoked_at, version, session_id"
    };
}

/// The columns [`read_sign_in`] reads, from `t` (tokens), `u` (users) and `m` (memberships).
macro_rules! credential_columns {
    () => {
        "t.id, t.hash, t.kind, t.client, t.family_id, t.user_id, t.workspace_id, \
         t.created_at, t.expires_at, t.used_at, t.revoked_at, t.version, t.session_id, \
         u.email AS user_email, u.name AS user_name, u.created_at AS user_created_at, \
         m.role AS member_role, m.created_at AS member_created_at, m.version AS member_version"
    };
}

/// The tables [`credential_columns`] reads.
macro_rules! credential_tables {
    () => {
        "tokens t \
         JOIN users u ON u.id = t.user_id \
         LEFT JOIN memberships m ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id"
    };
}

/// One indexed lookup by hash, the user by primary key, the membership by primary key.
const FIND_CREDENTIAL: &str =
    concat!("SELECT ", credential_columns!(), " FROM ", credential_tables!(), " WHERE t.hash = ?1");

/// The same, with the token's workspace by primary key and its member count (an index range).
const FIND_CREDENTIAL_WITH_WORKSPACE: &str = concat!(
    "SELECT ",
    credential_columns!(),
    ", w.id, w.name, w.owner_user_id, w.plan, w.created_at, w.version, \
     (SELECT COUNT(*) FROM memberships c WHERE c.workspace_id = w.id) FROM ",
    credential_tables!(),
    " LEFT JOIN workspaces w ON w.id = t.workspace_id WHERE t.hash = ?1"
);

const INSERT: &str =
    concat!("INSERT INTO tokens (", columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");

/// Guarded: matches nothing when the version moved on, so a refresh token rotates once.
const UPDATE: &str = "UPDATE tokens SET used_at = ?1, version = ?4 WHERE id = ?2 AND version = ?3";

/// Idempotent; bumps the version so a racing guarded write on the token loses.
const REVOKE: &str = "UPDATE tokens SET revoked_at = ?1, version = version + 1 WHERE id = ?2 AND revoked_at IS NULL";

/// Idempotent; bumps the versions so racing guarded writes on the family lose.
const REVOKE_FAMILY: &str =
    "UPDATE tokens SET revoked_at = ?1, version = version + 1 WHERE family_id = ?2 AND revoked_at IS NULL";

/// Idempotent; bumps the versions so racing guarded writes on these tokens lose.
const REVOKE_MEMBER: &str = "UPDATE tokens SET revoked_at = ?1, version = version + 1 \
     WHERE user_id = ?2 AND workspace_id = ?3 AND revoked_at IS NULL";

/// Reads the columns of `columns!()`.
fn read_token(row: &mut RowReader) -> PortResult<Token> {
    Ok(Token {
        id: TokenId::from_raw(row.text()?),
        hash: SecretHash::from_stored(row.text()?),
        kind: row.parsed(TokenKind::parse)?,
        client: row.parsed(ClientKind::parse)?,
        family_id: FamilyId::from_raw(row.text()?),
        user_id: UserId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        created_at: row.time()?,
        expires_at: row.time()?,
        used_at: row.opt_time()?,
        revoked_at: row.opt_time()?,
        version: row.int()?,
        session_id: row.opt_text()?.map(SessionId::from_raw),
    })
}

fn read_sign_in(row: &mut RowReader) -> PortResult<Credential> {
    let token = read_token(row)?;
    let user = read_user_without_id(row, token.user_id.clone())?;
    let role = row.opt_parsed(Role::parse)?;
    let created_at = row.opt_time()?;
    let version = row.opt_int()?;
    let membership = match (role, created_at, version) {
        (Some(role), Some(created_at), Some(version)) => Some(Membership {
            workspace_id: token.workspace_id.clone(),
            user_id: token.user_id.clone(),
            role,
            created_at,
            version,
        }),
        _ => None,
    };
    Ok(Credential { token, user, membership })
}

pub(crate) fn insert(token: &Token) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            token.id.as_str().into(),
            token.hash.as_str().into(),
            token.kind.as_str().into(),
            token.client.as_str().into(),
            token.family_id.as_str().into(),
            token.user_id.as_str().into(),
            token.workspace_id.as_str().into(),
            token.created_at.millis().into(),
            token.expires_at.millis().into(),
            token.used_at.map(Timestamp::millis).into(),
            token.revoked_at.map(Timestamp::millis).into(),
            token.version.into(),
            token.session_id.as_ref().map(SessionId::as_str).into(),
        ],
    )
}

pub(crate) fn update(t: &Token, expected_version: i64) -> Stmt {
    let params =
        vec![t.used_at.map(Timestamp::millis).into(), t.id.as_str().into(), expected_version.into(), t.version.into()];
    Stmt::new(UPDATE, params)
}

pub(crate) fn revoke(id: &TokenId, at: Timestamp) -> Stmt {
    Stmt::new(REVOKE, vec![at.millis().into(), id.as_str().into()])
}

pub(crate) fn revoke_family(family: &FamilyId, at: Timestamp) -> Stmt {
    Stmt::new(REVOKE_FAMILY, vec![at.millis().into(), family.as_str().into()])
}

pub(crate) fn revoke_member(workspace: &WorkspaceId, user: &UserId, at: Timestamp) -> Stmt {
    Stmt::new(REVOKE_MEMBER, vec![at.millis().into(), user.as_str().into(), workspace.as_str().into()])
}

#[async_trait]
impl<E: SqlExecutor> TokenRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_credential(&self, hash: &SecretHash) -> PortResult<Option<Credential>> {
        let rows = self.exec.query(Stmt::new(FIND_CREDENTIAL, vec![hash.as_str().into()])).await?;
        first(rows).map(|mut row| read_sign_in(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_credential_with_workspace(&self, hash: &SecretHash) -> PortResult<Option<CredentialWithWorkspace>> {
        let rows = self.exec.query(Stmt::new(FIND_CREDENTIAL_WITH_WORKSPACE, vec![hash.as_str().into()])).await?;
        first(rows)
            .map(|mut row| {
                let credential = read_sign_in(&mut row)?;
                let workspace = read_opt_workspace_with_count(&mut row)?;
                Ok((credential, workspace))
            })
            .transpose()
    }
}
