//! What only the SQLite store has: a database file, opened in a folder it creates, whose migrations
//! apply once however often it is reopened. Everything every backend must do (batches, uniqueness,
//! ordering, rate windows that outlive a reopen, concurrent callers) is in the contract suite
//! (`burstflare-tests`), which runs it on SQLite as on memory.

mod common;

use burstflare_adapters_sqlite::SqliteStore;
use common::{fresh, ports, register};

#[tokio::test]
async fn migrations_apply_once_and_reopening_keeps_data() {
    let db = fresh().await;
    let (ada, _) = register(&db.ports, 1, "ada@example.com").await;
    db.store.close().await;
    for _ in 0..2 {
        let store = SqliteStore::open_in(db.dir.path()).await.expect("reopen");
        let ports = ports(&store, db.dir.path());
        assert_eq!(ports.users.get(&ada.id).await.unwrap(), Some(ada.clone()));
        store.close().await;
    }
}

#[tokio::test]
async fn open_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    let store = SqliteStore::open_in(&nested).await.expect("open");
    assert!(nested.join(burstflare_adapters_sqlite::DB_FILE).exists());
    store.close().await;
}
