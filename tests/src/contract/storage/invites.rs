//! Invites: lookup by code hash, accepting once, and which invites count as pending.

use crate::contract::fixtures::invite;
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::model::Invite;
use burstflare_core::secret::SecretHash;
use burstflare_core::store::Write;
use burstflare_core::time::Timestamp;
use burstflare_core::values::InviteStatus;

pub async fn invites_are_found_by_code_and_accepted_once(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (code, sent) = invite(&ada.workspace.id, &ada.user.id, "Bob@Example.com", h.now(), 3600);
    h.commit([Write::CreateInvite(sent.clone())]).await?;
    assert_eq!(h.ports.invites.find_by_code(&code.hash()).await?, Some(sent.clone()));
    assert_eq!(h.ports.invites.find_by_code(&SecretHash::of("bfi_unknown")).await?, None);

    h.clock.advance_seconds(30);
    let at = h.now();
    let accepted = Invite {
        status: InviteStatus::Accepted,
        accepted_at: Some(at),
        accepted_by_user_id: Some(bob.user.id.clone()),
        version: 2,
        ..sent.clone()
    };
    let accept = |expected_version| Write::UpdateInvite { invite: accepted.clone(), expected_version };
    h.commit([accept(1)]).await?;
    assert_eq!(h.ports.invites.find_by_code(&code.hash()).await?, Some(accepted.clone()));
    assert_conflict(h.commit([accept(1)]).await);
    assert_eq!(h.ports.invites.find_by_code(&code.hash()).await?, Some(accepted));

    // Invite codes are unique.
    let (_, mut copy) = invite(&ada.workspace.id, &ada.user.id, "carol@example.com", h.now(), 3600);
    copy.code_hash = sent.code_hash.clone();
    assert_conflict(h.commit([Write::CreateInvite(copy.clone())]).await);
    assert_eq!(h.ports.invites.list_pending(&ada.workspace.id, h.now()).await?, vec![]);
    Ok(())
}

pub async fn pending_invites_exclude_expired_and_accepted(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let ws = &ada.workspace.id;
    let (_, long) = invite(ws, &ada.user.id, "one@example.com", h.now(), 3600);
    h.clock.advance_seconds(10);
    let (_, short) = invite(ws, &ada.user.id, "two@example.com", h.now(), 60);
    h.clock.advance_seconds(10);
    let (_, taken) = invite(ws, &ada.user.id, "bob@example.com", h.now(), 3600);
    let (_, elsewhere) = invite(&bob.workspace.id, &bob.user.id, "ada@example.com", h.now(), 3600);
    // Inserted out of creation order: the list orders by creation time.
    h.commit([taken.clone(), short.clone(), long.clone(), elsewhere.clone()].map(Write::CreateInvite)).await?;

    let pending = |at: Timestamp| async move { h.ports.invites.list_pending(ws, at).await };
    assert_eq!(pending(h.now()).await?, vec![long.clone(), short.clone(), taken.clone()]);

    let at = h.now();
    let accepted = Invite {
        status: burstflare_core::values::InviteStatus::Accepted,
        accepted_at: Some(at),
        accepted_by_user_id: Some(bob.user.id.clone()),
        version: 2,
        ..taken.clone()
    };
    h.commit([Write::UpdateInvite { invite: accepted, expected_version: 1 }]).await?;
    assert_eq!(pending(h.now()).await?, vec![long.clone(), short.clone()]);

    // Expiry is strict: an invite is pending while `expires_at > now`.
    let last_moment = Timestamp(short.expires_at.millis() - 1);
    assert_eq!(pending(last_moment).await?, vec![long.clone(), short.clone()]);
    assert_eq!(pending(short.expires_at).await?, vec![long.clone()]);

    assert_eq!(h.ports.invites.list_pending(&bob.workspace.id, h.now()).await?, vec![elsewhere]);
    let none = h.ports.invites.list_pending(&WorkspaceId::from_raw("ws_missing"), h.now()).await?;
    assert_eq!(none, vec![]);
    let stored = h.ports.invites.find_by_code(&long.code_hash).await?.context("expired invites stay readable")?;
    assert_eq!(stored, long);
    Ok(())
}
