//! The device flow over each backend: pending until decided, exchanged exactly once, refused once
//! expired or denied.

use crate::contract::harness::{expect_code, Harness};
use burstflare_core::values::{ClientKind, Role};
use burstflare_core::ErrorKind;

pub async fn device_flow_issues_tokens_once(h: &Harness) -> anyhow::Result<()> {
    let ada = h.register("ada@example.com").await?;
    let actor = h.actor(&ada).await?;
    let start = h.service.device_start().await?;
    assert_eq!(start.expires_in, h.service.config().device_ttl_seconds);
    let pending = expect_code(h.service.device_exchange(start.device_code.expose()).await, "authorization_pending");
    assert_eq!(pending.kind(), ErrorKind::BadRequest);

    // People type the code in any case, with or without the dash.
    let typed = start.user_code.to_lowercase().replace('-', " ");
    h.service.device_decide(&actor, &typed, true).await?;
    let before = h.snapshot(&actor.workspace_id).await?;
    expect_code(h.service.device_decide(&actor, &start.user_code, false).await, "device_code_decided");
    assert_eq!(h.snapshot(&actor.workspace_id).await?, before, "a second decision changes nothing");

    let cli = h.service.device_exchange(start.device_code.expose()).await?;
    assert_eq!(cli.user, ada.user);
    assert_eq!((cli.workspace.workspace.id.clone(), cli.workspace.role), (actor.workspace_id.clone(), Role::Owner));
    assert_eq!(cli.client, ClientKind::Api);
    let cli_actor = h.actor(&cli).await?;
    assert_ne!(cli_actor.family_id, actor.family_id, "the CLI gets a sign-in of its own");

    let before = h.snapshot(&actor.workspace_id).await?;
    expect_code(h.service.device_exchange(start.device_code.expose()).await, "invalid_grant");
    expect_code(h.service.device_exchange("bfd_0000").await, "invalid_grant");
    expect_code(h.service.device_exchange(ada.refresh.expose()).await, "invalid_grant");
    assert_eq!(h.snapshot(&actor.workspace_id).await?, before, "refused exchanges change nothing");
    expect_code(h.service.device_decide(&actor, "BCDF-GHJK", true).await, "device_code_not_found");
    Ok(())
}

pub async fn denied_and_expired_device_codes_are_refused(h: &Harness) -> anyhow::Result<()> {
    let ada = h.register("ada@example.com").await?;
    let actor = h.actor(&ada).await?;
    let denied = h.service.device_start().await?;
    h.service.device_decide(&actor, &denied.user_code, false).await?;
    expect_code(h.service.device_exchange(denied.device_code.expose()).await, "access_denied");

    let late = h.service.device_start().await?;
    h.clock.advance_seconds(h.service.config().device_ttl_seconds);
    let before = h.snapshot(&actor.workspace_id).await?;
    expect_code(h.service.device_exchange(late.device_code.expose()).await, "expired_token");
    let gone = expect_code(h.service.device_decide(&actor, &late.user_code, true).await, "device_code_expired");
    assert_eq!(gone.kind(), ErrorKind::Gone);
    expect_code(h.service.device_exchange(late.device_code.expose()).await, "expired_token");
    assert_eq!(h.snapshot(&actor.workspace_id).await?, before, "refusals change nothing");

    // Approved in time but exchanged too late: still expired.
    let slow = h.service.device_start().await?;
    h.service.device_decide(&actor, &slow.user_code, true).await?;
    h.clock.advance_seconds(h.service.config().device_ttl_seconds + 1);
    expect_code(h.service.device_exchange(slow.device_code.expose()).await, "expired_token");
    Ok(())
}
