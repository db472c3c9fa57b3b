//! A small blocking pool of rusqlite connections to one SQLite file: the executor takes a
//! connection, runs its statements on the calling thread and gives it back. A pool of one is the
//! single writer behind a mutex; callers beyond `max` wait (up to a timeout) for a connection.

use crate::error::port_error;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use rusqlite::{Connection, OpenFlags};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Statements kept prepared per connection: more than the repositories' distinct statements.
const STATEMENT_CACHE: usize = 256;

/// How the pool's connections open the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read-only connections; WAL lets them read alongside the writer.
    Read,
    /// The read-write connection: WAL journal, `synchronous=NORMAL`, foreign keys enforced.
    Write,
}

/// Connections to one database file, opened on demand up to `max`.
#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    mode: Mode,
    max: usize,
    busy_timeout: Duration,
    state: Mutex<State>,
    /// Signalled when a connection is given back, a slot frees up, or the pool closes.
    returned: Condvar,
    /// Signalled when the last open connection of a closed pool is gone.
    drained: Notify,
}

#[derive(Debug, Default)]
struct State {
    idle: Vec<Connection>,
    /// Connections in existence: idle, lent out, or being opened.
    open: usize,
    closed: bool,
}

/// A connection lent by a [`Pool`]; going out of scope gives it back.
pub(crate) struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Deref for Lease<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

impl Pool {
    /// A pool of up to `max` connections, one of them opened now so a bad path fails here.
    pub(crate) fn open(path: PathBuf, mode: Mode, max: usize, busy_timeout: Duration) -> PortResult<Pool> {
        let pool = Pool {
            path,
            mode,
            max: max.max(1),
            busy_timeout,
            state: Mutex::new(State::default()),
            returned: Condvar::new(),
            drained: Notify::new(),
        };
        let first = pool.connect().map_err(port_error)?;
        let mut state = pool.lock();
        state.idle.push(first);
        state.open = 1;
        drop(state);
        Ok(pool)
    }

    /// Lends a connection, waiting up to `timeout` for one; `Unavailable` once closed or timed out.
    /// Blocks the calling thread.
    pub(crate) fn acquire(&self, timeout: Duration) -> PortResult<Lease<'_>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.closed {
                return Err(PortError::Unavailable("the database is closed".into()));
            }
            if let Some(conn) = state.idle.pop() {
                return Ok(Lease { pool: self, conn: Some(conn) });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Lease { pool: self, conn: Some(conn) }),
                    Err(e) => {
                        self.forget();
                        Err(port_error(e))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(PortError::Unavailable(format!("no {:?} connection free after {timeout:?}", self.mode)));
            }
            state = self.returned.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Lends an idle connection if there is one right now, without blocking; `None` otherwise.
    pub(crate) fn try_acquire(&self) -> PortResult<Option<Lease<'_>>> {
        let mut state = self.lock();
        if state.closed {
            return Err(PortError::Unavailable("the database is closed".into()));
        }
        Ok(state.idle.pop().map(|conn| Lease { pool: self, conn: Some(conn) }))
    }

    /// Closes the pool: later calls are `Unavailable`; waits for lent connections to come back,
    /// and closes every connection.
    pub(crate) async fn close(&self) {
        let idle = {
            let mut state = self.lock();
            state.closed = true;
            state.open -= state.idle.len();
            std::mem::take(&mut state.idle)
        };
        self.returned.notify_all();
        drop(idle);
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.lock().open == 0 {
                return;
            }
            drained.await;
        }
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = match self.mode {
            Mode::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Mode::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals (one per statement inside a group's savepoints) and sorts stay in
        // memory: they are small, and a temporary file costs the writer its syscalls.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        if self.mode == Mode::Write {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // The checkpointer thread copies the log back instead (see `checkpoint`).
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "journal_size_limit", crate::checkpoint::LOG_SIZE_LIMIT)?;
        }
        Ok(conn)
    }

    /// Takes a connection back; one left inside a transaction is rolled back, or dropped if that fails.
    fn give_back(&self, conn: Connection) {
        if !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rolling back an abandoned transaction failed");
            }
            if !conn.is_autocommit() {
                drop(conn);
                self.forget();
                return;
            }
        }
        let mut state = self.lock();
        if state.closed {
            drop(state);
            drop(conn);
            self.forget();
        } else {
            state.idle.push(conn);
            drop(state);
            self.returned.notify_one();
        }
    }

    /// Counts a connection as gone (failed to open, dropped, or closed with the pool).
    fn forget(&self) {
        let mut state = self.lock();
        state.open -= 1;
        let drained = state.closed && state.open == 0;
        drop(state);
        self.returned.notify_one();
        if drained {
            self.drained.notify_waiters();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn writer(dir: &tempfile::TempDir) -> Pool {
        Pool::open(dir.path().join("db"), Mode::Write, 1, Duration::from_millis(10)).expect("open")
    }

    #[test]
    fn a_full_pool_times_out_and_a_returned_connection_wakes_a_waiter() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(writer(&dir));
        let held = pool.acquire(Duration::ZERO).expect("the first connection");
        assert!(pool.try_acquire().unwrap().is_none());
        let err = pool.acquire(Duration::from_millis(20)).err().expect("no connection free");
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        let waiter = std::thread::spawn({
            let pool = pool.clone();
            move || pool.acquire(Duration::from_secs(10)).map(drop)
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        waiter.join().unwrap().expect("woken by the returned connection");
    }

    #[test]
    fn a_connection_given_back_inside_a_transaction_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let pool = writer(&dir);
        let conn = pool.acquire(Duration::ZERO).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); BEGIN; INSERT INTO t VALUES (1);").unwrap();
        drop(conn);
        let conn = pool.try_acquire().unwrap().expect("given back");
        assert!(conn.is_autocommit());
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0)).unwrap();
        assert_eq!(rows, 0);
    }

    #[tokio::test]
    async fn closing_waits_for_lent_connections_and_refuses_new_calls() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(writer(&dir));
        let lent = pool.acquire(Duration::ZERO).unwrap();
        let closing = tokio::spawn({
            let pool = pool.clone();
            async move { pool.close().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!closing.is_finished(), "close waits for the lent connection");
        assert!(matches!(pool.try_acquire(), Err(PortError::Unavailable(_))));
        drop(lent);
        closing.await.unwrap();
        assert!(matches!(pool.acquire(Duration::ZERO), Err(PortError::Unavailable(_))));
    }
}
