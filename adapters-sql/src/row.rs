//! Reads one positional row column by column, turning a missing or mistyped value into
//! `PortError::Other` naming the statement's column.

use crate::exec::{Row, SqlValue};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use burstflare_core::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A cursor over one row's values, in SELECT order.
pub(crate) struct RowReader {
    values: std::vec::IntoIter<SqlValue>,
    column: usize,
}

impl RowReader {
    pub(crate) fn new(row: Row) -> Self {
        Self { values: row.into_iter(), column: 0 }
    }

    fn next(&mut self) -> PortResult<SqlValue> {
        self.column += 1;
        self.values.next().ok_or_else(|| PortError::Other(format!("row has no column {}", self.column)))
    }

    fn mistyped(&self, expected: &str) -> PortError {
        PortError::Other(format!("column {} is not {expected}", self.column))
    }

    pub(crate) fn text(&mut self) -> PortResult<String> {
        match self.next()? {
            SqlValue::Text(v) => Ok(v),
            _ => Err(self.mistyped("text")),
        }
    }

    pub(crate) fn opt_text(&mut self) -> PortResult<Option<String>> {
        match self.next()? {
            SqlValue::Text(v) => Ok(Some(v)),
            SqlValue::Null => Ok(None),
            SqlValue::Int(_) => Err(self.mistyped("text or null")),
        }
    }

    pub(crate) fn int(&mut self) -> PortResult<i64> {
        match self.next()? {
            SqlValue::Int(v) => Ok(v),
            _ => Err(self.mistyped("an integer")),
        }
    }

    pub(crate) fn opt_int(&mut self) -> PortResult<Option<i64>> {
        match self.next()? {
            SqlValue::Int(v) => Ok(Some(v)),
            SqlValue::Null => Ok(None),
            SqlValue::Text(_) => Err(self.mistyped("an integer or null")),
        }
    }

    pub(crate) fn time(&mut self) -> PortResult<Timestamp> {
        self.int().map(Timestamp)
    }

    pub(crate) fn opt_time(&mut self) -> PortResult<Option<Timestamp>> {
        Ok(self.opt_int()?.map(Timestamp))
    }

    /// A non-negative integer column (sizes, counts).
    pub(crate) fn uint(&mut self) -> PortResult<u64> {
        let value = self.int()?;
        u64::try_from(value).map_err(|_| self.mistyped("a non-negative integer"))
    }

    pub(crate) fn opt_uint(&mut self) -> PortResult<Option<u64>> {
        match self.opt_int()? {
            Some(value) => u64::try_from(value).map(Some).map_err(|_| self.mistyped("a non-negative integer")),
            None => Ok(None),
        }
    }

    /// A text column holding JSON.
    pub(crate) fn json(&mut self) -> PortResult<serde_json::Value> {
        let raw = self.text()?;
        serde_json::from_str(&raw).map_err(|_| self.mistyped("JSON"))
    }

    /// A text column parsed by a domain constructor (roles, statuses, kinds).
    pub(crate) fn parsed<T, E>(&mut self, parse: impl FnOnce(&str) -> Result<T, E>) -> PortResult<T> {
        let raw = self.text()?;
        parse(&raw).map_err(|_| self.unknown())
    }

    /// A nullable text column parsed by a domain constructor.
    pub(crate) fn opt_parsed<T, E>(&mut self, parse: impl FnOnce(&str) -> Result<T, E>) -> PortResult<Option<T>> {
        match self.opt_text()? {
            Some(raw) => parse(&raw).map(Some).map_err(|_| self.unknown()),
            None => Ok(None),
        }
    }

    fn unknown(&self) -> PortError {
        PortError::Other(format!("column {} holds an unknown value", self.column))
    }
}

/// The first row of a result, if any.
pub(crate) fn first(rows: Vec<Row>) -> Option<RowReader> {
    rows.into_iter().next().map(RowReader::new)
}

/// Converts a count or limit between SQL integers and `u32`, refusing negative or huge values.
pub(crate) fn to_u32(value: i64) -> PortResult<u32> {
    u32::try_from(value).map_err(|_| PortError::Other(format!("count {value} is out of range")))
}

/// A size or count as a SQL integer, refusing values past `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> PortResult<i64> {
    i64::try_from(value).map_err(|_| PortError::Other(format!("value {value} is out of range")))
}

/// The wire string of a serde enum (`"dead_lettered"`), as status columns store it.
pub(crate) fn wire<T: Serialize>(value: &T) -> PortResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        _ => Err(PortError::Other("a status does not serialise to a string".into())),
    }
}

/// Reads a serde enum back from its wire string (for [`RowReader::parsed`]).
pub(crate) fn from_wire<T: DeserializeOwned>(raw: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::String(raw.to_string()))
}

/// JSON as stored in a text column.
pub(crate) fn json_text(value: &serde_json::Value) -> PortResult<String> {
    serde_json::to_string(value).map_err(|e| PortError::Other(format!("JSON does not serialise: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_names_bad_columns() {
        let mut r = RowReader::new(vec![SqlValue::Text("a".into()), SqlValue::Null, SqlValue::Int(3)]);
        assert_eq!(r.text().unwrap(), "a");
        assert_eq!(r.opt_int().unwrap(), None);
        assert!(matches!(r.text(), Err(PortError::Other(m)) if m.contains("column 3")));
        assert!(r.int().is_err());
    }
}
