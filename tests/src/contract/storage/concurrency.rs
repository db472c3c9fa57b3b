//! Many callers at once: concurrent readers, batches and rate-limit hits all succeed (on SQLite this
//! holds the connection pool and busy timeouts to it) and every write lands.

use crate::contract::fixtures::{self, token};
use crate::contract::harness::Harness;
use burstflare_core::error::PortError;
use burstflare_core::store::{Batch, Write};
use burstflare_core::values::TokenKind;
use tokio::task::JoinSet;

pub async fn readers_and_writers_run_together(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let ws = ada.workspace.id.clone();
    let (secret, access) = token(TokenKind::Access, &fixtures::family(), &ada.user.id, &ws, h.now());
    h.commit([Write::CreateToken(access)]).await?;
    let hash = secret.hash();

    let mut tasks = JoinSet::new();
    for _ in 0..64 {
        let (ports, hash) = (h.ports.clone(), hash.clone());
        tasks.spawn(async move {
            for _ in 0..10 {
                let credential = ports.tokens.find_credential(&hash).await?;
                assert!(credential.is_some_and(|s| s.membership.is_some()), "every read sees the credential");
            }
            Ok::<_, PortError>(())
        });
    }
    for n in 0..16 {
        let (ports, ws, now) = (h.ports.clone(), ws.clone(), h.now());
        tasks.spawn(async move {
            let mut batch = Batch::new();
            batch.push(Write::Audit(fixtures::audit(Some(&ws), &format!("writer {n}"), now)));
            ports.uow.commit(batch).await?;
            ports.rate_limiter.hit("shared", 60_000, now).await.map(drop)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?.map_err(|e| anyhow::anyhow!("a port error under load: {e:?}"))?;
    }
    assert_eq!(h.ports.audit.list(&ws, 200).await?.len(), 16);
    assert_eq!(h.ports.rate_limiter.hit("shared", 60_000, h.now()).await?.count, 17);
    Ok(())
}
