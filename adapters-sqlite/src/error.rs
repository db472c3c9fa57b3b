//! SQLite errors mapped onto the ports' contract (see `SqlExecutor`): a violated UNIQUE, PRIMARY
//! KEY, FOREIGN KEY or CHECK constraint is `Conflict`; a busy, locked, read-only, I/O, full or
//! unopenable database is `Unavailable`; anything else (NOT NULL included) is `Other`. Errors from
//! rusqlite (the executor) and from sqlx (the migrations) go through the same classification.

use burstflare_core::error::PortError;
use rusqlite::ffi;

/// Classifies an SQLite extended result `code` with its `message`.
fn classify(code: i32, message: String) -> PortError {
    match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE
        | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        | ffi::SQLITE_CONSTRAINT_FOREIGNKEY
        | ffi::SQLITE_CONSTRAINT_CHECK => PortError::Conflict(message),
        _ => match code & 0xff {
            ffi::SQLITE_BUSY
            | ffi::SQLITE_LOCKED
            | ffi::SQLITE_READONLY
            | ffi::SQLITE_IOERR
            | ffi::SQLITE_FULL
            | ffi::SQLITE_CANTOPEN => PortError::Unavailable(format!("(code: {code}) {message}")),
            _ => PortError::Other(format!("(code: {code}) {message}")),
        },
    }
}

/// Maps a rusqlite error; failures that did not come from SQLite itself (a parameter count, a
/// column type) are `Other`.
pub(crate) fn port_error(e: rusqlite::Error) -> PortError {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            classify(failure.extended_code, message.unwrap_or_else(|| failure.to_string()))
        }
        other => PortError::Other(other.to_string()),
    }
}

/// Maps a sqlx error (opening the database to migrate it).
pub(crate) fn sqlx_error(e: sqlx::Error) -> PortError {
    match &e {
        sqlx::Error::Database(db) => match db.code().and_then(|code| code.parse::<i32>().ok()) {
            Some(code) => classify(code, db.message().to_string()),
            None => PortError::Other(e.to_string()),
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            PortError::Unavailable(e.to_string())
        }
        _ => PortError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some("boom".into()))
    }

    #[test]
    fn codes_classify_like_the_contract_says() {
        for code in [
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
            ffi::SQLITE_CONSTRAINT_CHECK,
        ] {
            assert!(matches!(port_error(failure(code)), PortError::Conflict(m) if m == "boom"), "{code}");
        }
        for code in [ffi::SQLITE_CONSTRAINT_NOTNULL, ffi::SQLITE_CONSTRAINT_TRIGGER, ffi::SQLITE_ERROR] {
            assert!(matches!(port_error(failure(code)), PortError::Other(_)), "{code}");
        }
        for code in [
            ffi::SQLITE_BUSY,
            ffi::SQLITE_BUSY_SNAPSHOT,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_READONLY,
            ffi::SQLITE_IOERR_WRITE,
            ffi::SQLITE_FULL,
            ffi::SQLITE_CANTOPEN,
        ] {
            assert!(matches!(port_error(failure(code)), PortError::Unavailable(_)), "{code}");
        }
        assert!(matches!(port_error(rusqlite::Error::InvalidParameterCount(1, 2)), PortError::Other(_)));
    }
}
