//! The WAL checkpointer: a thread with its own connection that copies committed pages from the
//! write-ahead log into the database file (`PRAGMA wal_checkpoint(PASSIVE)`) every [`INTERVAL`]
//! while writes come in, so the writer never copies a long log inline. SQLite's automatic
//! checkpoint runs inside a `COMMIT`, and again after every commit until the log can restart:
//! that commit, and every batch queued behind it, waits for the copy and its `fsync`s.
//!
//! A passive checkpoint takes no lock a writer or reader waits on, but only a checkpoint that
//! runs between two commits lets the next one restart the log from its beginning (otherwise it
//! grows for as long as writes keep coming). So once the log is longer than [`RESTART_PAGES`],
//! this thread asks for one ([`Restart`]): the writer runs a passive checkpoint once, after the
//! next group it commits, and finds nearly everything already copied.
//!
//! SQLite syncs the database file only at a checkpoint that reaches the end of the log, which
//! under a stream of writes is the writer's: left to it, that `fsync` wrote out every page
//! copied since the last restart (15–27 ms, measured, with every write queued behind it). So
//! before asking, this thread syncs the file itself and copies what came in meanwhile; the
//! writer's `fsync`s then flush only the last few milliseconds' pages.
//!
//! Durability is SQLite's own with `synchronous=NORMAL`: a commit is in the log when it
//! returns (a killed process loses nothing acknowledged); the log is synced at checkpoints, so a
//! power cut can lose the last commits, never leave a corrupt database.

use crate::error::port_error;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the log is checkpointed while writes come in…
pub(crate) const INTERVAL: Duration = Duration::from_millis(25);
/// …and while the last checkpoint found nothing new to copy.
const IDLE_INTERVAL: Duration = Duration::from_millis(500);
/// A log this many pages long (4 KiB each, 256 MiB) is restarted by the writer. A restart holds
/// back the writes queued meanwhile for its two `fsync`s (4-21 ms measured under load here, with
/// the pages the last writes touched), so it is rare: about every 1.7 s under a sustained 15,000
/// invites/s, so under 1% of writes wait for one (at 64 MiB, every 0.45 s, they made the p99).
pub(crate) const RESTART_PAGES: i64 = 65536;
/// A log file that grew past this is truncated back to it once restarted (bytes): above the
/// restart length, so a restart does not also free blocks that the next writes allocate again.
/// An idle log is cut to nothing ([`truncate`]).
pub(crate) const LOG_SIZE_LIMIT: i64 = 320 * 1024 * 1024;

/// The checkpointer's request that the writer run one checkpoint between two commits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Restart(Arc<AtomicBool>);

impl Restart {
    /// Whether the checkpointer asked for a restart.
    pub(crate) fn is_due(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Called by the writer after a commit: runs the requested checkpoint, if any, on `conn`.
    pub(crate) fn run_if_due(&self, conn: &Connection) {
        if self.0.swap(false, Ordering::AcqRel) {
            // If it fails or cannot restart the log yet, the checkpointer asks again.
            let _ = checkpoint(conn);
        }
    }
}

/// The running checkpointer; [`Checkpointer::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to `path` (a WAL database) and starts checkpointing it; `restart` is
    /// raised when the log is `restart_pages` long (see [`RESTART_PAGES`]).
    pub(crate) fn start(path: &Path, (restart, restart_pages): (Restart, i64)) -> PortResult<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(port_error)?;
        // A passive checkpoint never waits; the idle truncation must not either (it would hold
        // back the writer while it waited for readers), so it tries again later instead.
        conn.busy_timeout(Duration::ZERO).map_err(port_error)?;
        let file = File::open(path).map_err(|e| PortError::Unavailable(format!("opening {}: {e}", path.display())))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut last = None;
                loop {
                    let now = pass((&conn, &file), &restart, restart_pages);
                    let idle = now.is_none() || now == last;
                    if idle && now.is_some_and(|(pages, _)| pages > 0) {
                        truncate(&conn);
                    }
                    let interval = if idle { IDLE_INTERVAL } else { INTERVAL };
                    last = now;
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map_err(|e| PortError::Unavailable(format!("starting the WAL checkpointer: {e}")))?;
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

/// The thread's pass: a checkpoint, then, when the log is `restart_pages` long, the database
/// `file` synced (unless that checkpoint reached the log's end, where SQLite just synced it), what
/// came in meanwhile copied, and a restart requested.
fn pass((conn, file): (&Connection, &File), restart: &Restart, restart_pages: i64) -> Option<(i64, i64)> {
    let now = checkpoint(conn);
    if let Some((pages, copied)) = now.filter(|(pages, _)| *pages >= restart_pages) {
        if let Err(e) = (copied < pages).then(|| file.sync_data()).transpose() {
            // The writer's checkpoint syncs it then; only slower.
            tracing::warn!(error = %e, "syncing the database file before a restart failed");
        }
        let _ = checkpoint(conn);
        restart.0.store(true, Ordering::Release);
    }
    now
}

/// Once writes stopped: the whole log copied back and its file cut to nothing, so the disk does
/// not keep a burst's log (up to [`LOG_SIZE_LIMIT`]). Busy (a reader or a new write) means the
/// next idle pass tries again.
fn truncate(conn: &Connection) {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0));
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "truncating the idle write-ahead log failed; the next idle pass retries");
    }
}

/// Runs one passive checkpoint: the pages in the log and those copied (which also tells whether
/// writes came in since the last one).
fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)));
    outcome
        .inspect_err(|e| tracing::warn!(error = %e, "checkpointing the write-ahead log failed; the next tick retries"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A WAL database with `schema`, its automatic checkpoint off, and its writer.
    fn wal_database(schema: &str) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch(schema).unwrap();
        (dir, path, writer)
    }

    /// Waits until `done` (at most `secs`), failing with `what` otherwise.
    fn wait_for(secs: u64, what: &str, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(INTERVAL / 4);
        }
    }

    /// `sql`'s one number, read through a new read-only connection (what the file holds).
    fn read_number(path: &Path, sql: &str) -> i64 {
        let reader = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        reader.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// With the automatic checkpoint off, the committed pages stay in the log until the thread
    /// copies them into the database file.
    #[test]
    fn the_log_is_checkpointed_off_the_writer() {
        let (_dir, path, _writer) = wal_database("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);");
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        std::thread::sleep(INTERVAL * 2);
        assert_eq!(file_len(), before, "nothing copies the log without the checkpointer");

        let restart = Restart::default();
        let mut checkpointer = Checkpointer::start(&path, (restart, RESTART_PAGES)).unwrap();
        wait_for(5, "never checkpointed", || file_len() != before);
        checkpointer.stop();
        assert_eq!(read_number(&path, "SELECT sum(n) FROM t"), 6);
    }

    /// Once writes stop, the log's file is cut to nothing (a burst's log does not stay on disk),
    /// and what it held is in the database file.
    #[test]
    fn an_idle_log_is_truncated() {
        let (dir, path, writer) = wal_database("CREATE TABLE t (n INTEGER, text TEXT)");
        for n in 0..200 {
            writer.execute("INSERT INTO t VALUES (?1, ?2)", (n, "x".repeat(2000))).unwrap();
        }
        let log = dir.path().join("db.sqlite-wal");
        let log_len = || std::fs::metadata(&log).unwrap().len();
        assert!(log_len() > 400_000, "the log holds the writes: {}", log_len());

        let mut checkpointer = Checkpointer::start(&path, (Restart::default(), RESTART_PAGES)).unwrap();
        wait_for(10, "the idle log was never cut to nothing", || log_len() == 0);
        checkpointer.stop();
        drop(writer);
        assert_eq!(read_number(&path, "SELECT count(*) FROM t"), 200);
    }

    /// Under a stream of commits the log is restarted by the writer when asked; without that it
    /// grows with every commit. Driven step by step: a reader's snapshot open during each pass
    /// stands for the concurrent requests that keep a pass from ever catching up.
    #[test]
    fn a_long_log_is_restarted_between_commits() {
        const PAGES: i64 = 256;
        let (_dir, path, writer) = wal_database("CREATE TABLE t (n INTEGER PRIMARY KEY, text TEXT)");
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let checkpointer = Connection::open(&path).unwrap();
        let file = File::open(&path).unwrap();
        let restart = Restart::default();
        let page = "x".repeat(3000);
        let mut longest = 0;
        for n in 0..2048 {
            reader.execute_batch("BEGIN; SELECT count(*) FROM t;").unwrap();
            writer.execute("INSERT INTO t (n, text) VALUES (?1, ?2)", (n, &page)).unwrap();
            let (pages, _) = pass((&checkpointer, &file), &restart, PAGES).unwrap();
            longest = longest.max(pages);
            reader.execute_batch("COMMIT").unwrap();
            restart.run_if_due(&writer);
        }
        assert!(longest <= 2 * PAGES, "the log grew to {longest} pages");
        let count: i64 = writer.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2048);
    }
}
