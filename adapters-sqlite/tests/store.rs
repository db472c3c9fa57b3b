//! The SQLite store's own guarantees: migrations on reopen, all-or-nothing batches, uniqueness as
//! `Conflict`, and rate-limit windows that survive a restart.

mod common;

use burstflare_adapters_sqlite::SqliteStore;
use burstflare_core::error::PortError;
use burstflare_core::store::{Batch, Write};
use burstflare_core::time::Timestamp;
use common::{fresh, one, ports, register, user, workspace, NOW};

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

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_and_writes_nothing() {
    let db = fresh().await;
    let (ada, _) = register(&db.ports, 1, "ada@example.com").await;
    let twin = user(2, "ADA@Example.com");
    let mut batch = Batch::new();
    batch
        .push(Write::CreateWorkspace(workspace(2, &ada)))
        .push(Write::CreateUser { user: twin.clone(), password_hash: "plain$x".into() });
    let err = db.ports.uow.commit(batch).await.unwrap_err();
    assert!(matches!(err, PortError::Conflict(_)), "{err:?}");
    let (found, hash) = db.ports.users.find_by_email("ada@example.com").await.unwrap().unwrap();
    assert_eq!((&found.id, hash.as_str()), (&ada.id, "plain$pw1"));
    assert_eq!(db.ports.users.get(&twin.id).await.unwrap(), None);
    let ws2 = workspace(2, &ada).id;
    assert_eq!(db.ports.workspaces.get(&ws2).await.unwrap(), None, "the workspace insert was rolled back");
}

#[tokio::test]
async fn a_dangling_reference_is_a_conflict() {
    let db = fresh().await;
    let ghost = user(9, "ghost@example.com");
    let write = Write::CreateWorkspace(workspace(9, &ghost));
    assert!(matches!(db.ports.uow.commit(one(write)).await, Err(PortError::Conflict(_))));
}

#[tokio::test]
async fn rate_windows_count_reset_and_survive_reopening() {
    let db = fresh().await;
    let limiter = &db.ports.rate_limiter;
    for expected in 1..=3 {
        let hit = limiter.hit("login:1.2.3.4", 1_000, NOW).await.unwrap();
        assert_eq!((hit.count, hit.reset_at), (expected, Timestamp(NOW.0 + 1_000)));
    }
    assert_eq!(limiter.hit("login:5.6.7.8", 1_000, NOW).await.unwrap().count, 1);
    db.store.close().await;

    let store = SqliteStore::open_in(db.dir.path()).await.expect("reopen");
    let limiter = ports(&store, db.dir.path()).rate_limiter;
    let hit = limiter.hit("login:1.2.3.4", 1_000, Timestamp(NOW.0 + 999)).await.unwrap();
    assert_eq!((hit.count, hit.reset_at), (4, Timestamp(NOW.0 + 1_000)));
    let hit = limiter.hit("login:1.2.3.4", 1_000, Timestamp(NOW.0 + 1_000)).await.unwrap();
    assert_eq!((hit.count, hit.reset_at), (1, Timestamp(NOW.0 + 2_000)), "a window ending at now is over");
    let hit = limiter.hit("login:1.2.3.4", 1_000, Timestamp(NOW.0 + 1_500)).await.unwrap();
    assert_eq!((hit.count, hit.reset_at), (2, Timestamp(NOW.0 + 2_000)));
    store.close().await;
}

#[tokio::test]
async fn an_empty_batch_commits() {
    let db = fresh().await;
    db.ports.uow.commit(Batch::new()).await.expect("nothing to do");
}
