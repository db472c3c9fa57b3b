//! The audit log (newest first, limited, per workspace) and the fixed-window rate limiter, whose
//! windows outlive a reopened store.

use crate::contract::fixtures::audit;
use crate::contract::harness::Harness;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::ports::WindowCount;
use burstflare_core::store::Write;
use burstflare_core::time::Timestamp;

pub async fn audit_lists_newest_first_with_a_limit_per_workspace(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (ws, other) = (&ada.workspace.id, &bob.workspace.id);
    let first = audit(Some(ws), "first", h.now());
    let mut second = audit(Some(ws), "second", h.now().plus_seconds(1));
    second.actor_user_id = Some(ada.user.id.clone());
    second.details = serde_json::json!({ "email": "ada@example.com", "list": [1, 2, 3], "none": null });
    // Equal timestamps: the later insert is the newer entry.
    let (third, fourth) =
        (audit(Some(ws), "third", h.now().plus_seconds(2)), audit(Some(ws), "fourth", h.now().plus_seconds(2)));
    let theirs = audit(Some(other), "theirs", h.now().plus_seconds(3));
    let global = audit(None, "global", h.now().plus_seconds(4));
    // Inserted out of time order: the list orders by time.
    h.commit([second.clone(), first.clone(), theirs.clone(), global].map(Write::Audit)).await?;
    h.commit([third.clone(), fourth.clone()].map(Write::Audit)).await?;

    let all = vec![fourth.clone(), third.clone(), second.clone(), first.clone()];
    assert_eq!(h.ports.audit.list(ws, 10).await?, all);
    assert_eq!(h.ports.audit.list(ws, 2).await?, vec![fourth, third]);
    assert_eq!(h.ports.audit.list(ws, 1).await?.len(), 1);
    assert_eq!(h.ports.audit.list(other, 10).await?, vec![theirs]);
    assert_eq!(h.ports.audit.list(&WorkspaceId::from_raw("ws_missing"), 10).await?, vec![]);
    Ok(())
}

pub async fn rate_limiter_counts_resets_and_isolates_keys(h: &Harness) -> anyhow::Result<()> {
    let limiter = &h.ports.rate_limiter;
    let start = h.now();
    let window = 60_000;
    let reset_at = Timestamp(start.millis() + window);
    assert_eq!(limiter.hit("login:1.2.3.4", window, start).await?, WindowCount { count: 1, reset_at });
    let late = Timestamp(reset_at.millis() - 1);
    assert_eq!(limiter.hit("login:1.2.3.4", window, late).await?, WindowCount { count: 2, reset_at });
    assert_eq!(limiter.hit("login:1.2.3.4", window, late).await?.count, 3);
    assert_eq!(
        limiter.hit("login:5.6.7.8", window, late).await?,
        WindowCount { count: 1, reset_at: Timestamp(late.millis() + window) }
    );
    assert_eq!(limiter.hit("register:1.2.3.4", window, start).await?.count, 1);

    // The window ends at `reset_at`: the hit at that instant starts a new one.
    let next = Timestamp(reset_at.millis() + window);
    assert_eq!(limiter.hit("login:1.2.3.4", window, reset_at).await?, WindowCount { count: 1, reset_at: next });
    assert_eq!(limiter.hit("login:1.2.3.4", window, reset_at).await?, WindowCount { count: 2, reset_at: next });
    // Every hit counts, far past any limit.
    for _ in 0..20 {
        limiter.hit("login:1.2.3.4", window, reset_at).await?;
    }
    assert_eq!(limiter.hit("login:1.2.3.4", window, reset_at).await?.count, 23);
    Ok(())
}

pub async fn rate_windows_survive_reopening_the_store(h: &Harness) -> anyhow::Result<()> {
    let start = h.now();
    let window = 1_000;
    let reset_at = Timestamp(start.millis() + window);
    for _ in 0..3 {
        h.ports.rate_limiter.hit("login:1.2.3.4", window, start).await?;
    }
    let (ports, _) = h.reopened().await?;
    let limiter = &ports.rate_limiter;
    let late = Timestamp(reset_at.millis() - 1);
    assert_eq!(limiter.hit("login:1.2.3.4", window, late).await?, WindowCount { count: 4, reset_at });
    assert_eq!(limiter.hit("login:5.6.7.8", window, late).await?.count, 1, "other keys start afresh");
    let next = Timestamp(reset_at.millis() + window);
    assert_eq!(limiter.hit("login:1.2.3.4", window, reset_at).await?, WindowCount { count: 1, reset_at: next });
    Ok(())
}
