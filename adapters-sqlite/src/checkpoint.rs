//! The WAL checkpointer: a thread with its own connection that copies committed pages from the
//! write-ahead log into the database file (`PRAGMA wal_checkpoint(PASSIVE)`) every
//! [`INTERVAL`] while writes come in, so the writer seldom does it inline. SQLite's automatic
//! checkpoint runs inside the `COMMIT` that crosses its threshold: that commit, and every batch
//! queued behind it, waits for the copy and the `fsync`s it ends with. A passive checkpoint
//! takes no lock a writer or reader waits on. The writer keeps its own automatic checkpoint,
//! at a higher threshold ([`WRITER_PAGES`]): only a checkpoint run between two commits lets the
//! next one restart the log from its beginning, and by then this thread has copied nearly
//! everything, so it costs the writer little. The log stays a few MiB long.
//!
//! Durability is SQLite's own with `synchronous=NORMAL`: a commit is in the log when it
//! returns (a killed process loses nothing acknowledged); the log is synced at checkpoints, so a
//! power cut can lose the last commits, never leave a corrupt database.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the log is checkpointed while writes come in…
pub(crate) const INTERVAL: Duration = Duration::from_millis(25);
/// …and while the last checkpoint found nothing to copy.
const IDLE_INTERVAL: Duration = Duration::from_millis(500);
/// The writer's own checkpoint runs after a commit that leaves the log this many pages long.
pub(crate) const WRITER_PAGES: i64 = 16384;
/// A log file that grew past this is truncated back to it once restarted (bytes).
pub(crate) const LOG_SIZE_LIMIT: i64 = 80 * 1024 * 1024;

/// The running checkpointer; [`Checkpointer::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to `path` (a WAL database) and starts checkpointing it.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(busy_timeout)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut last = None;
                loop {
                    let now = checkpoint(&conn);
                    let interval = if now.is_some() && now != last { INTERVAL } else { IDLE_INTERVAL };
                    last = now;
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }

    /// Ends the thread and waits for it (at most one checkpoint in progress).
    pub(crate) fn stop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs one passive checkpoint: the pages in the log and those copied, to tell whether writes
/// came in since the last one.
fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)));
    outcome
        .inspect_err(|e| tracing::warn!(error = %e, "checkpointing the write-ahead log failed; the next tick retries"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the automatic checkpoint off, the committed pages stay in the log until the thread
    /// copies them into the database file.
    #[test]
    fn the_log_is_checkpointed_off_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);").unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        std::thread::sleep(INTERVAL * 2);
        assert_eq!(file_len(), before, "nothing copies the log without the checkpointer");

        let mut checkpointer = Checkpointer::start(&path, Duration::from_secs(1)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while file_len() == before {
            assert!(std::time::Instant::now() < deadline, "never checkpointed");
            std::thread::sleep(INTERVAL / 4);
        }
        checkpointer.stop();
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let sum: i64 = reader.query_row("SELECT sum(n) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(sum, 6);
    }
}
