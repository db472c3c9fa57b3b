//! Many callers at once: 64 concurrent readers alongside writers all succeed, concurrent batches
//! all land, and of racing guarded writes exactly one wins.

mod common;

use burstflare_core::error::PortError;
use burstflare_core::secret::SecretHash;
use burstflare_core::store::Write;
use burstflare_core::values::TokenKind;
use common::{audit, fresh, one, register, token, NOW};
use std::sync::Arc;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_writers_and_counters_run_together() {
    let db = fresh().await;
    let (ada, ws) = register(&db.ports, 1, "ada@example.com").await;
    let access = token(10, TokenKind::Access, &ada, &ws);
    db.ports.uow.commit(one(Write::CreateToken(access.clone()))).await.unwrap();
    let ports = Arc::new(db.ports.clone());

    let mut tasks = JoinSet::new();
    for _ in 0..64 {
        let ports = ports.clone();
        let hash = access.hash.clone();
        tasks.spawn(async move {
            for _ in 0..10 {
                let session = ports.tokens.find_session(&hash).await?;
                assert!(session.is_some_and(|s| s.membership.is_some()));
            }
            Ok::<_, PortError>(())
        });
    }
    for n in 0..16 {
        let ports = ports.clone();
        let ws = ws.clone();
        tasks.spawn(async move {
            ports.uow.commit(one(audit(100 + n, &ws))).await?;
            ports.rate_limiter.hit("shared", 60_000, NOW).await.map(|_| ())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task").expect("no port error under load");
    }
    assert_eq!(db.ports.audit.list(&ws.id, 200).await.unwrap().len(), 16);
    assert_eq!(db.ports.rate_limiter.hit("shared", 60_000, NOW).await.unwrap().count, 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_racing_guarded_writes_exactly_one_wins() {
    let db = fresh().await;
    let (ada, ws) = register(&db.ports, 1, "ada@example.com").await;
    let refresh = token(20, TokenKind::Refresh, &ada, &ws);
    db.ports.uow.commit(one(Write::CreateToken(refresh.clone()))).await.unwrap();

    let mut tasks = JoinSet::new();
    for n in 0..8 {
        let ports = db.ports.clone();
        let (ada, ws, id) = (ada.clone(), ws.clone(), refresh.id.clone());
        tasks.spawn(async move {
            let mut batch = one(Write::UseRefreshToken { token_id: id, at: NOW, expected_version: 1 });
            batch.push(Write::CreateToken(token(30 + n, TokenKind::Refresh, &ada, &ws)));
            ports.uow.commit(batch).await
        });
    }
    let (mut won, mut lost) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(()) => won += 1,
            Err(PortError::Conflict(_)) => lost += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((won, lost), (1, 7));
    let minted = (30..38).map(|n| SecretHash::of(&format!("secret-{n}"))).collect::<Vec<_>>();
    let mut found = 0;
    for hash in &minted {
        found += usize::from(db.ports.tokens.find_session(hash).await.unwrap().is_some());
    }
    assert_eq!(found, 1, "only the winner's new token was written");
}
