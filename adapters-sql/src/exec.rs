//! The executor port: the few operations the SQL repositories need from a database driver, so
//! the same statements run on SQLite (sqlx) and on Cloudflare D1.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::fmt;

/// One SQL value, as bound to a parameter or read from a column. Only the storage classes the
/// schema uses: integers (timestamps, versions, counts), text, and NULL.
#[derive(Clone, PartialEq, Eq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Text(String),
}

impl fmt::Debug for SqlValue {
    /// Text is not printed: parameters include hashes and emails, which stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlValue::Null => f.write_str("Null"),
            SqlValue::Int(v) => write!(f, "Int({v})"),
            SqlValue::Text(v) => write!(f, "Text(<{} bytes>)", v.len()),
        }
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// A statement and its parameters. Placeholders are `?NNN` (numbered from 1), which SQLite and
/// D1 both accept; every statement text is a constant of this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<SqlValue>,
}

impl Stmt {
    pub fn new(sql: &'static str, params: Vec<SqlValue>) -> Self {
        Self { sql, params }
    }
}

/// A result row: its values in the order the SELECT (or RETURNING) lists its columns.
pub type Row = Vec<SqlValue>;

/// What a driver offers the repositories. Errors follow the ports' contract: `Conflict` for a
/// violated UNIQUE, PRIMARY KEY, CHECK or FOREIGN KEY constraint (which is also how a lost batch
/// guard surfaces), `Unavailable` when the database cannot be reached or stays busy, `Other` for
/// anything else.
#[async_trait]
pub trait SqlExecutor: Send + Sync + 'static {
    /// Runs one read-only statement and returns its rows.
    async fn query(&self, stmt: Stmt) -> PortResult<Vec<Row>>;
    /// Runs one writing statement on its own (atomic by itself) and returns the rows of its
    /// RETURNING clause, if any.
    async fn write(&self, stmt: Stmt) -> PortResult<Vec<Row>>;
    /// Runs the statements in order, all or nothing: if one fails, none of them is kept.
    async fn batch(&self, stmts: Vec<Stmt>) -> PortResult<()>;
}

/// Classifies a driver's error message for drivers that only report text (D1 does): constraint
/// violations other than NOT NULL are conflicts; everything else is `Other`.
pub fn error_from_message(message: &str) -> PortError {
    let constraint = message.contains("constraint failed") || message.contains("SQLITE_CONSTRAINT");
    if constraint && !message.contains("NOT NULL") {
        PortError::Conflict(message.to_string())
    } else if message.contains("SQLITE_BUSY") || message.contains("database is locked") {
        PortError::Unavailable(message.to_string())
    } else {
        PortError::Other(message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_classify() {
        let unique = "D1_ERROR: UNIQUE constraint failed: users.email_normalised: SQLITE_CONSTRAINT";
        assert!(matches!(error_from_message(unique), PortError::Conflict(_)));
        let guard = "CHECK constraint failed: ok > 0";
        assert!(matches!(error_from_message(guard), PortError::Conflict(_)));
        let not_null = "NOT NULL constraint failed: users.name";
        assert!(matches!(error_from_message(not_null), PortError::Other(_)));
        assert!(matches!(error_from_message("database is locked"), PortError::Unavailable(_)));
    }

    #[test]
    fn debug_hides_text() {
        let v = SqlValue::Text("secret-hash".into());
        assert!(!format!("{v:?}").contains("secret"));
    }
}
