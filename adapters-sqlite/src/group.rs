//! Group commit: batches that arrive while the writer is busy are committed together, in one
//! `BEGIN IMMEDIATE … COMMIT`, so that a batch whose guard fails (or whose statement fails) rolls
//! back alone and the others commit (the group runs again with a savepoint per batch when one
//! fails: [`commit_group`]); every caller learns its own outcome, and only after the `COMMIT`
//! that holds its batch returned.
//!
//! There is no writer thread: the first caller to find the writer idle leads. It takes every
//! batch waiting, commits them with its own, answers their callers, and hands the lead to the
//! oldest batch that arrived meanwhile (whose caller then commits the next group), so a leader
//! answers its own request after one group, never after a stream of others'.

use burstflare_adapters_sql::Stmt;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use rusqlite::Connection;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// What a waiting caller is told: its batch's outcome, or that it leads the next group (with
/// its statements handed back).
enum Turn {
    Done(PortResult<()>),
    Lead(Vec<Stmt>),
}

struct Waiting {
    stmts: Vec<Stmt>,
    turn: oneshot::Sender<Turn>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Whether a caller is committing a group now (it hands the lead on before it returns).
    leading: bool,
}

/// The writer's queue of batches.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `stmts` as one atomic batch, grouped with whatever else waits. `commit` runs a
    /// group on the writer's connection (see [`commit_group`]); `between` runs after a group's
    /// callers were answered and before the next group begins (housekeeping no caller of that
    /// group should wait for).
    pub(crate) async fn submit<F, B>(&self, stmts: Vec<Stmt>, commit: F, between: B) -> PortResult<()>
    where
        F: Fn(&[Vec<Stmt>]) -> PortResult<Vec<PortResult<()>>>,
        B: Fn(),
    {
        let waiting = {
            let mut queue = self.lock();
            if !queue.leading {
                queue.leading = true;
                Err(stmts)
            } else {
                let (turn, receiver) = oneshot::channel();
                queue.waiting.push(Waiting { stmts, turn });
                Ok(receiver)
            }
        };
        let receiver = match waiting {
            Ok(receiver) => receiver,
            Err(stmts) => return self.lead(stmts, (&commit, &between)),
        };
        let mut waiter = Waiter { group: self, receiver: Some(receiver) };
        let turn = match waiter.receiver.as_mut() {
            Some(receiver) => receiver.await,
            None => unreachable!("the receiver is set just above"),
        };
        waiter.receiver = None;
        match turn {
            Ok(Turn::Done(outcome)) => outcome,
            Ok(Turn::Lead(stmts)) => self.lead(stmts, (&commit, &between)),
            Err(_) => Err(PortError::Unavailable("the database writer stopped".into())),
        }
    }

    /// Commits `mine` with every batch waiting, answers the others, runs `between`, hands the
    /// lead on, and returns `mine`'s outcome.
    fn lead<F, B>(&self, mine: Vec<Stmt>, (commit, between): (&F, &B)) -> PortResult<()>
    where
        F: Fn(&[Vec<Stmt>]) -> PortResult<Vec<PortResult<()>>>,
        B: Fn(),
    {
        // Hands the lead on however this ends, a panic included (the others' callers then hear
        // that the writer stopped).
        let _hand_on = HandOn(self);
        let others = std::mem::take(&mut self.lock().waiting);
        let (mut batches, mut turns) = (Vec::with_capacity(others.len() + 1), Vec::with_capacity(others.len()));
        batches.push(mine);
        for waiting in others {
            batches.push(waiting.stmts);
            turns.push(waiting.turn);
        }
        let outcomes = match commit(&batches) {
            Ok(outcomes) => outcomes,
            Err(e) => vec![Err(e); batches.len()],
        };
        let mut outcomes = outcomes.into_iter();
        let own = outcomes.next().unwrap_or_else(|| Err(PortError::Other("a group lost its outcomes".into())));
        for (turn, outcome) in turns.into_iter().zip(outcomes) {
            // A caller that went away is answered by no one: its batch committed all the same.
            let _ = turn.send(Turn::Done(outcome));
        }
        between();
        own
    }

    /// Gives the lead to the oldest waiting batch whose caller is still there, or ends it.
    fn hand_on(&self) {
        let mut queue = self.lock();
        while !queue.waiting.is_empty() {
            let next = queue.waiting.remove(0);
            match next.turn.send(Turn::Lead(next.stmts)) {
                Ok(()) => return,
                // Its caller went away before its batch was taken: never committed, never acknowledged.
                Err(_) => continue,
            }
        }
        queue.leading = false;
    }
}

/// A caller waiting for its turn. If its request is dropped (the client went away) after the
/// lead was handed to it but before it took it, the lead would be lost and every later batch
/// would wait for ever: dropping it passes the lead on instead. Its batch is then neither
/// committed nor acknowledged, like one whose caller went away before its turn came.
struct Waiter<'a> {
    group: &'a GroupCommit,
    receiver: Option<oneshot::Receiver<Turn>>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            // Closing first makes any later send fail (so the leader moves on); what was sent
            // before is still there to read.
            receiver.close();
            if let Ok(Turn::Lead(_)) = receiver.try_recv() {
                self.group.hand_on();
            }
        }
    }
}

struct HandOn<'a>(&'a GroupCommit);

impl Drop for HandOn<'_> {
    fn drop(&mut self) {
        self.0.hand_on();
    }
}

/// Commits `batches` in one transaction: the outcome of each, or one error for all when the
/// transaction itself could not begin or commit.
///
/// Optimistic: the batches run straight into the transaction. Only when a statement fails is
/// it rolled back and run again with each batch in its own savepoint ([`with_savepoints`]), so
/// the failing batch rolls back alone and the others commit; the batches run in the same order
/// on the same state, so each meets the same outcome. A savepoint per batch makes SQLite copy
/// every page a batch touches into a statement journal first (~10% of a write's CPU, measured:
/// BENCHMARKS.md, "Writes"), which the common case, where nothing fails, no longer pays.
pub(crate) fn commit_group(
    conn: &Connection,
    batches: &[Vec<Stmt>],
    run: impl Fn(&Connection, &Stmt) -> PortResult<()>,
) -> PortResult<Vec<PortResult<()>>> {
    control(conn, "BEGIN IMMEDIATE")?;
    let failed = batches.iter().flatten().try_for_each(|stmt| run(conn, stmt));
    match failed {
        Ok(()) => {
            control(conn, "COMMIT").inspect_err(|_| rollback(conn))?;
            Ok(vec![Ok(()); batches.len()])
        }
        Err(e) => {
            rollback(conn);
            match batches {
                // Alone in its group, the failing batch rolled back with the transaction.
                [_] => Ok(vec![Err(e)]),
                _ => with_savepoints(conn, batches, run),
            }
        }
    }
}

/// Runs `sql`, a statement without parameters or rows (cached on the connection).
fn control(conn: &Connection, sql: &str) -> PortResult<()> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop).map_err(crate::error::port_error)
}

/// [`commit_group`] with each batch in its own savepoint.
fn with_savepoints(
    conn: &Connection,
    batches: &[Vec<Stmt>],
    run: impl Fn(&Connection, &Stmt) -> PortResult<()>,
) -> PortResult<Vec<PortResult<()>>> {
    let control = |sql: &str| control(conn, sql);
    control("BEGIN IMMEDIATE")?;
    let mut outcomes = Vec::with_capacity(batches.len());
    for stmts in batches {
        control("SAVEPOINT batch").inspect_err(|_| rollback(conn))?;
        let outcome = stmts.iter().try_for_each(|stmt| run(conn, stmt));
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (out of disk, an I/O error): every batch
            // of the group so far is gone with it.
            let error = outcome.err().unwrap_or_else(|| PortError::Unavailable("the transaction ended".into()));
            return Err(error);
        }
        if outcome.is_err() {
            control("ROLLBACK TO batch").inspect_err(|_| rollback(conn))?;
        }
        control("RELEASE batch").inspect_err(|_| rollback(conn))?;
        outcomes.push(outcome);
    }
    control("COMMIT").inspect_err(|_| rollback(conn))?;
    Ok(outcomes)
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            // The pool drops a connection it gets back still inside a transaction.
            tracing::warn!(error = %e, "rollback after a failed group commit failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_adapters_sql::SqlValue;

    fn stmt(sql: &'static str, n: i64) -> Stmt {
        Stmt { sql, params: vec![SqlValue::Int(n)] }
    }

    fn run(conn: &Connection, stmt: &Stmt) -> PortResult<()> {
        let SqlValue::Int(n) = stmt.params[0] else { unreachable!() };
        conn.execute(stmt.sql, [n]).map(drop).map_err(crate::error::port_error)
    }

    /// A batch whose statement fails rolls back alone; those before and after it commit, in one
    /// transaction.
    #[test]
    fn a_failing_batch_rolls_back_alone() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL CHECK (n > 0))").unwrap();
        let insert = "INSERT INTO t (n) VALUES (?1)";
        let batches = vec![
            vec![stmt(insert, 1), stmt(insert, 2)],
            vec![stmt(insert, 3), stmt(insert, -1)],
            vec![stmt(insert, 4)],
        ];
        let outcomes = commit_group(&conn, &batches, run).unwrap();
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
        assert!(matches!(outcomes[1], Err(PortError::Conflict(_))), "{outcomes:?}");
        let mut kept = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        let kept: Vec<i64> = kept.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(kept, [1, 2, 4], "the failed batch's first row went with it");
        assert!(conn.is_autocommit(), "the transaction is over");
    }

    /// A batch whose outcome depends on the batches before it in its group meets the same one
    /// when the group runs again with savepoints: here the second insert of 7 fails only because
    /// the first committed it.
    #[test]
    fn a_batch_fails_on_what_the_batches_before_it_wrote() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY CHECK (n > 0))").unwrap();
        let insert = "INSERT INTO t (n) VALUES (?1)";
        let batches = vec![vec![stmt(insert, 7)], vec![stmt(insert, 8), stmt(insert, 7)], vec![stmt(insert, 9)]];
        let outcomes = commit_group(&conn, &batches, run).unwrap();
        assert!(outcomes[0].is_ok() && outcomes[1].is_err() && outcomes[2].is_ok(), "{outcomes:?}");
        let mut kept = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        let kept: Vec<i64> = kept.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(kept, [7, 9]);
    }

    /// A group of one that fails rolls back whole and reports the batch's own error; a group in
    /// which nothing fails commits every batch without a savepoint.
    #[test]
    fn a_group_of_one_fails_alone_and_a_clean_group_commits_whole() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL CHECK (n > 0))").unwrap();
        let insert = "INSERT INTO t (n) VALUES (?1)";
        let outcomes = commit_group(&conn, &[vec![stmt(insert, 1), stmt(insert, -1)]], run).unwrap();
        assert!(matches!(outcomes[..], [Err(PortError::Conflict(_))]), "{outcomes:?}");
        let count = |conn: &Connection| conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count(&conn), 0);
        let outcomes = commit_group(&conn, &[vec![stmt(insert, 1)], vec![stmt(insert, 2), stmt(insert, 3)]], run);
        assert!(outcomes.unwrap().iter().all(Result::is_ok));
        assert_eq!(count(&conn), 3);
        assert!(conn.is_autocommit());
    }

    /// Callers that arrive while one leads are answered each with their own outcome, and the
    /// lead passes on until the queue is empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_caller_hears_its_own_outcome() {
        let group = std::sync::Arc::new(GroupCommit::default());
        let sizes = std::sync::Arc::new(Mutex::new(Vec::new()));
        let callers = (0..64i64).map(|n| {
            let (group, sizes) = (group.clone(), sizes.clone());
            tokio::spawn(async move {
                let commit = |batches: &[Vec<Stmt>]| {
                    sizes.lock().unwrap().push(batches.len());
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    let outcome = |b: &Vec<Stmt>| match b[0].params[0] {
                        SqlValue::Int(n) if n % 5 == 0 => Err(PortError::Conflict(format!("{n}"))),
                        _ => Ok(()),
                    };
                    Ok(batches.iter().map(outcome).collect())
                };
                (n, group.submit(vec![stmt("x", n)], commit, || ()).await)
            })
        });
        for caller in callers.collect::<Vec<_>>() {
            let (n, outcome) = caller.await.unwrap();
            match outcome {
                Err(PortError::Conflict(m)) => assert_eq!((n % 5, m), (0, n.to_string())),
                Ok(()) => assert_ne!(n % 5, 0),
                other => panic!("{n}: {other:?}"),
            }
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 64, "every batch committed once: {sizes:?}");
        assert!(sizes.iter().any(|&s| s > 1), "batches that waited were grouped: {sizes:?}");
        assert!(!group.lock().leading && group.lock().waiting.is_empty());
    }

    /// A caller that goes away after the lead was handed to it, before it took it, passes the
    /// lead on: the next caller still commits (without this, every later write hung).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_goes_away_with_the_lead_passes_it_on() {
        let group = std::sync::Arc::new(GroupCommit::default());
        let ok = |batches: &[Vec<Stmt>]| Ok(batches.iter().map(|_| Ok(())).collect());
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Mutex::new(released);
        let leader = tokio::spawn({
            let group = group.clone();
            async move {
                let commit = |batches: &[Vec<Stmt>]| {
                    released.lock().unwrap().recv().unwrap();
                    Ok(batches.iter().map(|_| Ok(())).collect())
                };
                group.submit(vec![stmt("x", 1)], commit, || ()).await
            }
        });
        while !group.lock().leading {
            tokio::task::yield_now().await;
        }
        // Queued behind the leader, polled once, then left alone.
        let mut gone = Box::pin(group.submit(vec![stmt("x", 2)], ok, || ()));
        tokio::select! {
            biased;
            _ = &mut gone => panic!("it cannot finish while the leader commits"),
            () = std::future::ready(()) => {}
        }
        let next = tokio::spawn({
            let group = group.clone();
            async move { group.submit(vec![stmt("x", 3)], ok, || ()).await }
        });
        while group.lock().waiting.len() < 2 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        leader.await.unwrap().unwrap();
        // The leader handed its lead to `gone`, which never takes it.
        drop(gone);
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(5), next).await;
        assert!(matches!(outcome, Ok(Ok(Ok(())))), "the next caller never committed: {outcome:?}");
        assert!(!group.lock().leading && group.lock().waiting.is_empty());
    }
}
