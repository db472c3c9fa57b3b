//! Reconcile over each backend: it removes exactly what has expired and nothing still usable.

use crate::contract::harness::{expect_code, Harness};
use burstflare_core::ports::Purged;
use burstflare_core::rate::RateScope;

pub async fn reconcile_purges_only_what_expired(h: &Harness) -> anyhow::Result<()> {
    let signed = h.register("ada@example.com").await?;
    h.service.device_start().await?;
    h.service.rate_limit(RateScope::Login, "10.0.0.1").await?;
    assert_eq!(h.service.reconcile().await?.purged, Purged::default(), "nothing has expired yet");

    // Past the access token, the device code and the rate window; the refresh token lives on.
    h.clock.advance_seconds(20 * 60);
    let purged = h.service.reconcile().await?.purged;
    assert_eq!(purged, Purged { tokens: 1, device_codes: 1, rate_windows: 1 });
    expect_code(h.service.authenticate(signed.access.expose()).await, "unauthorized");
    let renewed = h.service.refresh(signed.refresh.expose()).await?;
    h.actor(&renewed).await?;

    // Past every refresh token: the whole family goes, and nothing else is left to purge.
    h.clock.advance_seconds(31 * 24 * 3600);
    let purged = h.service.reconcile().await?.purged;
    assert_eq!(purged.tokens, 3, "the used refresh token, the new access and the new refresh");
    assert_eq!(h.service.reconcile().await?.purged, Purged::default());
    expect_code(h.service.refresh(renewed.refresh.expose()).await, "unauthorized");
    Ok(())
}
