//! The rusqlite executor on its own: positional decoding, RETURNING rows, all-or-nothing batches,
//! the ports' error contract, read-only readers, closing, and calls from every kind of thread
//! (current-thread runtime, multi-thread worker, blocking pool).

mod common;

use burstflare_adapters_sql::{SqlExecutor, SqlValue, Stmt};
use burstflare_core::error::PortError;
use common::fresh;

const CREATE: &str = "CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE CHECK (v <> 'bad'))";
const INSERT: &str = "INSERT INTO scratch (id, v) VALUES (?1, ?2) RETURNING id, v";
const COUNT: &str = "SELECT COUNT(*) FROM scratch";

fn insert(id: i64, v: &str) -> Stmt {
    Stmt::new(INSERT, vec![id.into(), v.into()])
}

async fn count(exec: &impl SqlExecutor) -> Vec<Vec<SqlValue>> {
    exec.query(Stmt::new(COUNT, vec![])).await.expect("count")
}

#[tokio::test]
async fn rows_decode_positionally_by_storage_class() {
    let db = fresh().await;
    let exec = db.store.executor().as_ref();
    let stmt = Stmt::new("SELECT ?1, ?2, ?3, 'x' || ?2", vec![7.into(), "a".into(), SqlValue::Null]);
    let rows = exec.query(stmt).await.unwrap();
    assert_eq!(rows, vec![vec![SqlValue::Int(7), "a".into(), SqlValue::Null, "xa".into()]]);
    for unsupported in ["SELECT 1.5", "SELECT x'00'"] {
        let err = exec.query(Stmt::new(unsupported, vec![])).await.unwrap_err();
        assert!(matches!(err, PortError::Other(_)), "{unsupported}: {err:?}");
    }
    let err = exec.query(Stmt::new("SELECT ?1, ?2", vec![1.into()])).await.unwrap_err();
    assert!(matches!(err, PortError::Other(_)), "a missing parameter: {err:?}");
}

#[tokio::test]
async fn writes_return_rows_and_map_errors_to_the_contract() {
    let db = fresh().await;
    let exec = db.store.executor().as_ref();
    assert!(exec.write(Stmt::new(CREATE, vec![])).await.unwrap().is_empty());
    assert_eq!(exec.write(insert(1, "a")).await.unwrap(), vec![vec![SqlValue::Int(1), "a".into()]]);
    let conflicts = [insert(1, "b"), insert(2, "a"), insert(3, "bad")];
    for stmt in conflicts {
        assert!(matches!(exec.write(stmt).await, Err(PortError::Conflict(_))));
    }
    let not_null = Stmt::new("INSERT INTO scratch (id, v) VALUES (4, NULL)", vec![]);
    assert!(matches!(exec.write(not_null).await, Err(PortError::Other(_))));
    assert!(matches!(exec.write(Stmt::new("SELEC nonsense", vec![])).await, Err(PortError::Other(_))));
    assert_eq!(count(exec).await, vec![vec![SqlValue::Int(1)]], "readers see the commit at once");
}

#[tokio::test]
async fn readers_are_read_only() {
    let db = fresh().await;
    let exec = db.store.executor().as_ref();
    exec.write(Stmt::new(CREATE, vec![])).await.unwrap();
    let err = exec.query(insert(1, "a")).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    assert_eq!(count(exec).await, vec![vec![SqlValue::Int(0)]]);
}

#[tokio::test]
async fn a_failed_batch_keeps_nothing_and_the_writer_stays_usable() {
    let db = fresh().await;
    let exec = db.store.executor().as_ref();
    exec.write(Stmt::new(CREATE, vec![])).await.unwrap();
    let err = exec.batch(vec![insert(1, "a"), insert(2, "b"), insert(3, "a")]).await.unwrap_err();
    assert!(matches!(err, PortError::Conflict(_)), "{err:?}");
    let err = exec.batch(vec![insert(1, "a"), Stmt::new("SELEC nonsense", vec![])]).await.unwrap_err();
    assert!(matches!(err, PortError::Other(_)), "{err:?}");
    assert_eq!(count(exec).await, vec![vec![SqlValue::Int(0)]]);
    exec.batch(vec![insert(1, "a"), insert(2, "b")]).await.expect("a good batch commits");
    exec.write(insert(3, "c")).await.expect("no transaction was left open");
    assert_eq!(count(exec).await, vec![vec![SqlValue::Int(3)]]);
}

#[tokio::test]
async fn calls_after_close_are_unavailable() {
    let db = fresh().await;
    let exec = db.store.executor().clone();
    db.store.close().await;
    assert!(matches!(exec.query(Stmt::new("SELECT 1", vec![])).await, Err(PortError::Unavailable(_))));
    assert!(matches!(exec.write(Stmt::new("SELECT 1", vec![])).await, Err(PortError::Unavailable(_))));
    assert!(matches!(exec.batch(vec![]).await, Err(PortError::Unavailable(_))));
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_work_on_workers_and_on_the_blocking_pool() {
    let db = fresh().await;
    let exec = db.store.executor().clone();
    exec.write(Stmt::new(CREATE, vec![])).await.unwrap();
    exec.write(insert(1, "worker")).await.unwrap();
    let handle = tokio::runtime::Handle::current();
    let from_blocking = exec.clone();
    tokio::task::spawn_blocking(move || handle.block_on(from_blocking.batch(vec![insert(2, "blocking")])))
        .await
        .unwrap()
        .unwrap();
    let from_thread = exec.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(from_thread.write(insert(3, "thread"))).map(drop)
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(count(exec.as_ref()).await, vec![vec![SqlValue::Int(3)]]);
}
