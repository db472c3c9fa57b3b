//! Departures: removing a membership (guarded, and gone from every read), revoking the tokens of
//! one user in one workspace, and reading an invite by id.

use crate::contract::fixtures::{self, invite, membership, token};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::{InviteId, UserId, WorkspaceId};
use burstflare_core::model::{Membership, Token};
use burstflare_core::store::Write;
use burstflare_core::values::{Role, TokenKind};

fn delete(m: &Membership, expected_version: i64) -> Write {
    Write::DeleteMembership { workspace_id: m.workspace_id.clone(), user_id: m.user_id.clone(), expected_version }
}

fn revoke(workspace: &WorkspaceId, user: &UserId, h: &Harness) -> Write {
    Write::RevokeMemberTokens { workspace_id: workspace.clone(), user_id: user.clone(), at: h.now() }
}

pub async fn deleting_a_membership_is_guarded(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let cid = h.account("cid@example.com").await?;
    let ws = &ada.workspace.id;
    let bobs = membership(ws, &bob.user.id, Role::Member, h.now());
    let cids = membership(ws, &cid.user.id, Role::Viewer, h.now());
    h.commit([Write::CreateMembership(bobs.clone()), Write::CreateMembership(cids.clone())]).await?;
    let promoted = Membership { role: Role::Admin, version: 2, ..bobs.clone() };
    h.commit([Write::UpdateMembership { membership: promoted.clone(), expected_version: 1 }]).await?;

    // A stale version (a role change won) refuses the whole batch.
    assert_conflict(h.commit([delete(&cids, 1), delete(&bobs, 1)]).await);
    assert_eq!(h.ports.workspaces.member_count(ws).await?, 3);
    h.commit([delete(&promoted, 2)]).await?;
    assert_eq!(h.ports.memberships.get(ws, &bob.user.id).await?, None);
    let listed: Vec<Membership> = h.ports.memberships.list(ws).await?.into_iter().map(|m| m.membership).collect();
    assert_eq!(listed.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>(), vec![ada.user.id.clone(), cid.user.id]);
    assert_eq!(h.ports.workspaces.member_count(ws).await?, 2);
    let bob_sees: Vec<WorkspaceId> =
        h.ports.workspaces.list_for_user(&bob.user.id).await?.into_iter().map(|(w, _)| w.id).collect();
    assert_eq!(bob_sees, vec![bob.workspace.id.clone()]);
    // A second removal, or a role change after it, finds nothing to guard.
    assert_conflict(h.commit([delete(&promoted, 2)]).await);
    let demoted = Membership { role: Role::Viewer, version: 3, ..promoted.clone() };
    assert_conflict(h.commit([Write::UpdateMembership { membership: demoted, expected_version: 2 }]).await);

    // Joining again is a new membership, listed last.
    h.clock.advance_seconds(1);
    let back = membership(ws, &bob.user.id, Role::Viewer, h.now());
    h.commit([Write::CreateMembership(back.clone())]).await?;
    let listed = h.ports.memberships.list(ws).await?;
    assert_eq!(listed.last().map(|m| m.membership.clone()), Some(back));
    Ok(())
}

pub async fn member_tokens_are_revoked_for_one_user_in_one_workspace(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let ws = &ada.workspace.id;
    let bobs = membership(ws, &bob.user.id, Role::Member, h.now());
    h.commit([Write::CreateMembership(bobs.clone())]).await?;
    let family = fixtures::family();
    let (_, bob_access) = token(TokenKind::Access, &family, &bob.user.id, ws, h.now());
    let (_, bob_refresh) = token(TokenKind::Refresh, &family, &bob.user.id, ws, h.now());
    let (_, bob_home) = token(TokenKind::Access, &fixtures::family(), &bob.user.id, &bob.workspace.id, h.now());
    let (_, ada_access) = token(TokenKind::Access, &fixtures::family(), &ada.user.id, ws, h.now());
    let (_, in_batch) = token(TokenKind::Access, &fixtures::family(), &bob.user.id, ws, h.now());
    let created = [&bob_access, &bob_refresh, &bob_home, &ada_access].map(|t| Write::CreateToken(t.clone()));
    h.commit(created).await?;

    h.clock.advance_seconds(5);
    let at = h.now();
    h.commit([Write::CreateToken(in_batch.clone()), delete(&bobs, 1), revoke(ws, &bob.user.id, h)]).await?;
    for gone in [&bob_access, &bob_refresh, &in_batch] {
        let stored = stored(h, gone).await?;
        assert_eq!((stored.revoked_at, stored.version), (Some(at), gone.version + 1), "{:?}", gone.kind);
        assert_eq!(h.ports.tokens.find_credential(&gone.hash).await?.context("stored")?.membership, None);
    }
    for kept in [&bob_home, &ada_access] {
        assert_eq!(&stored(h, kept).await?, kept, "another workspace's or another user's token is left alone");
    }
    // Idempotent: revoking again changes nothing and never conflicts.
    h.clock.advance_seconds(5);
    h.commit([revoke(ws, &bob.user.id, h)]).await?;
    assert_eq!(stored(h, &bob_access).await?.revoked_at, Some(at));
    Ok(())
}

async fn stored(h: &Harness, token: &Token) -> anyhow::Result<Token> {
    Ok(h.ports.tokens.find_credential(&token.hash).await?.context("the token is stored")?.token)
}

pub async fn invites_are_read_by_id(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, sent) = invite(&ada.workspace.id, &ada.user.id, "bob@example.com", h.now(), 3600);
    h.commit([Write::CreateInvite(sent.clone())]).await?;
    assert_eq!(h.ports.invites.get(&sent.id).await?, Some(sent));
    assert_eq!(h.ports.invites.get(&InviteId::from_raw("inv_unknown")).await?, None);
    Ok(())
}
