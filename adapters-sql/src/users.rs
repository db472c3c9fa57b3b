//! Accounts: the `users` table, its statements and its [`UserRepo`].

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::UserId;
use burstflare_core::model::User;
use burstflare_core::ports::{PortResult, UserRepo};
use burstflare_core::values::{DisplayName, Email};

const GET: &str = "SELECT id, email, name, created_at FROM users WHERE id = ?1";

const FIND_BY_EMAIL: &str = "SELECT id, email, name, created_at, password_hash FROM users WHERE email_normalised = ?1";

const INSERT: &str = "INSERT INTO users (id, email, email_normalised, name, password_hash, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Reads `id, email, name, created_at`.
pub(crate) fn read_user(row: &mut RowReader) -> PortResult<User> {
    let id = UserId::from_raw(row.text()?);
    read_user_without_id(row, id)
}

/// Reads `email, name, created_at` of a user whose id came from another column.
pub(crate) fn read_user_without_id(row: &mut RowReader, id: UserId) -> PortResult<User> {
    Ok(User {
        id,
        email: Email::from_stored(row.text()?),
        name: DisplayName::from_stored(row.text()?),
        created_at: row.time()?,
    })
}

pub(crate) fn insert(user: &User, password_hash: &str) -> Stmt {
    Stmt::new(
        INSERT,
        vec![
            user.id.as_str().into(),
            user.email.as_str().into(),
            user.email.normalised().into(),
            user.name.as_str().into(),
            password_hash.into(),
            user.created_at.millis().into(),
        ],
    )
}

#[async_trait]
impl<E: SqlExecutor> UserRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, id: &UserId) -> PortResult<Option<User>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into()])).await?;
        first(rows).map(|mut row| read_user(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn find_by_email(&self, normalised_email: &str) -> PortResult<Option<(User, String)>> {
        let rows = self.exec.query(Stmt::new(FIND_BY_EMAIL, vec![normalised_email.into()])).await?;
        first(rows)
            .map(|mut row| {
                let user = read_user(&mut row)?;
                Ok((user, row.text()?))
            })
            .transpose()
    }
}
