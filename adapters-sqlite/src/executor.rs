//! [`SqlxExecutor`]: the SQL executor port over sqlx and a SQLite file. Writes go through a pool of
//! one connection (SQLite has a single writer, so queueing in-process beats spinning on
//! `SQLITE_BUSY`); reads go through a pool of read-only connections that WAL lets run alongside it.

use async_trait::async_trait;
use burstflare_adapters_sql::{Row, SqlExecutor, SqlValue, Stmt};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use sqlx::error::ErrorKind;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{Row as _, TypeInfo as _, ValueRef as _};

/// Runs the shared SQL repositories' statements on SQLite.
#[derive(Debug, Clone)]
pub struct SqlxExecutor {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqlxExecutor {
    /// `writer` must have exactly one connection; `reader` should be read-only.
    pub fn new(reader: SqlitePool, writer: SqlitePool) -> Self {
        Self { reader, writer }
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

fn bind(stmt: &Stmt) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    stmt.params.iter().fold(sqlx::query(stmt.sql), |query, param| match param {
        SqlValue::Null => query.bind(None::<i64>),
        SqlValue::Int(v) => query.bind(*v),
        SqlValue::Text(v) => query.bind(v.as_str()),
    })
}

/// Decodes a row by column index, by each value's own storage class.
fn decode(row: &SqliteRow) -> PortResult<Row> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(port_error)?;
            if raw.is_null() {
                return Ok(SqlValue::Null);
            }
            match raw.type_info().name() {
                "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(SqlValue::Int),
                "TEXT" => row.try_get_unchecked::<String, _>(i).map(SqlValue::Text),
                other => return Err(PortError::Other(format!("column {i} holds an unsupported {other} value"))),
            }
            .map_err(port_error)
        })
        .collect()
}

/// Maps a sqlx error onto the ports' contract (see [`SqlExecutor`]).
pub(crate) fn port_error(e: sqlx::Error) -> PortError {
    match &e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation | ErrorKind::CheckViolation => {
                PortError::Conflict(db.message().to_string())
            }
            _ => {
                // Primary result codes: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
                let primary = db.code().and_then(|code| code.parse::<i32>().ok()).map(|code| code & 0xff);
                match primary {
                    Some(5 | 6 | 8 | 10 | 13 | 14) => PortError::Unavailable(e.to_string()),
                    _ => PortError::Other(e.to_string()),
                }
            }
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            PortError::Unavailable(e.to_string())
        }
        _ => PortError::Other(e.to_string()),
    }
}

#[async_trait]
impl SqlExecutor for SqlxExecutor {
    #[tracing::instrument(level = "trace", skip_all, fields(sql = stmt.sql))]
    async fn query(&self, stmt: Stmt) -> PortResult<Vec<Row>> {
        let rows = bind(&stmt).fetch_all(&self.reader).await.map_err(port_error)?;
        rows.iter().map(decode).collect()
    }

    #[tracing::instrument(level = "trace", skip_all, fields(sql = stmt.sql))]
    async fn write(&self, stmt: Stmt) -> PortResult<Vec<Row>> {
        let rows = bind(&stmt).fetch_all(&self.writer).await.map_err(port_error)?;
        rows.iter().map(decode).collect()
    }

    #[tracing::instrument(level = "trace", skip_all, fields(statements = stmts.len()))]
    async fn batch(&self, stmts: Vec<Stmt>) -> PortResult<()> {
        let mut tx = self.writer.begin().await.map_err(port_error)?;
        for stmt in &stmts {
            if let Err(e) = bind(stmt).execute(&mut *tx).await {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback after a failed statement failed");
                }
                return Err(port_error(e));
            }
        }
        tx.commit().await.map_err(port_error)
    }
}
