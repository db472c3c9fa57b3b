//! The D1 executor: runs the shared SQL repositories' statements on Cloudflare D1. Reads use
//! `raw()` (positional rows, like every SELECT of the repositories), batches use D1's atomic
//! `batch()`. Constraint failures are `Conflict`; every other D1 failure is `Unavailable`, which
//! the edge answers with 503 — a D1 error never leaves a half-applied change, since a batch is
//! all or nothing.

use async_trait::async_trait;
use burstflare_adapters_sql::{error_from_message, Row, SqlExecutor, SqlValue, Stmt};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use worker::send::SendFuture;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

pub struct D1Executor {
    db: D1Database,
}

impl D1Executor {
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    fn prepare(&self, stmt: &Stmt) -> PortResult<D1PreparedStatement> {
        let params: Vec<JsValue> = stmt.params.iter().map(to_js).collect();
        self.db.prepare(stmt.sql).bind(&params).map_err(|e| classify(&e.to_string()))
    }
}

/// Integers travel as JS numbers: exact for every value the schema stores (timestamps in ms,
/// versions, counts), all far below 2^53.
fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        SqlValue::Int(v) => JsValue::from_f64(*v as f64),
        SqlValue::Text(v) => JsValue::from_str(v),
    }
}

fn from_json(value: serde_json::Value) -> PortResult<SqlValue> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::String(s) => SqlValue::Text(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Int(i),
            None => SqlValue::Int(n.as_f64().map(|f| f as i64).unwrap_or_default()),
        },
        other => return Err(PortError::Other(format!("unexpected D1 value {other}"))),
    })
}

/// Constraint failures are conflicts; anything else from D1 means the database is not serving us.
fn classify(message: &str) -> PortError {
    match error_from_message(message) {
        PortError::Other(m) => PortError::Unavailable(format!("D1: {m}")),
        other => other,
    }
}

async fn rows(stmt: D1PreparedStatement) -> PortResult<Vec<Row>> {
    let raw: Vec<Vec<serde_json::Value>> = stmt.raw().await.map_err(|e| classify(&e.to_string()))?;
    raw.into_iter().map(|row| row.into_iter().map(from_json).collect()).collect()
}

#[async_trait]
impl SqlExecutor for D1Executor {
    async fn query(&self, stmt: Stmt) -> PortResult<Vec<Row>> {
        let prepared = self.prepare(&stmt)?;
        SendFuture::new(rows(prepared)).await
    }

    async fn write(&self, stmt: Stmt) -> PortResult<Vec<Row>> {
        let prepared = self.prepare(&stmt)?;
        SendFuture::new(rows(prepared)).await
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> PortResult<()> {
        let prepared = stmts.iter().map(|s| self.prepare(s)).collect::<PortResult<Vec<_>>>()?;
        let db = &self.db;
        SendFuture::new(async move {
            let results = db.batch(prepared).await.map_err(|e| classify(&e.to_string()))?;
            match results.iter().find_map(|r| r.error()) {
                Some(error) => Err(classify(&error)),
                None => Ok(()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_classify_for_the_edge() {
        assert!(matches!(classify("UNIQUE constraint failed: users.email_normalised"), PortError::Conflict(_)));
        assert!(matches!(classify("CHECK constraint failed: ok > 0"), PortError::Conflict(_)));
        assert!(matches!(classify("D1_ERROR: Network connection lost."), PortError::Unavailable(_)));
    }

    #[test]
    fn json_values_become_sql_values() {
        assert_eq!(from_json(serde_json::json!(1_772_150_401_000_i64)).unwrap(), SqlValue::Int(1_772_150_401_000));
        assert_eq!(from_json(serde_json::json!("x")).unwrap(), SqlValue::Text("x".into()));
        assert_eq!(from_json(serde_json::Value::Null).unwrap(), SqlValue::Null);
        assert!(from_json(serde_json::json!([1])).is_err());
    }
}
