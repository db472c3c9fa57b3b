//! Tokens: the credential lookup joins user and membership (and, for `/me`, the workspace with its
//! member count), revocation by token and by family, and
//! refresh tokens that rotate once.

use crate::contract::fixtures::{self, token};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::{FamilyId, TokenId};
use burstflare_core::model::Token;
use burstflare_core::secret::SecretHash;
use burstflare_core::store::Write;
use burstflare_core::values::{Role, TokenKind};

impl Harness {
    /// The stored token with this hash, whatever its state.
    async fn stored(&self, token: &Token) -> anyhow::Result<Token> {
        let credential = self.ports.tokens.find_credential(&token.hash).await?;
        Ok(credential.context("the token is stored")?.token)
    }
}

fn use_refresh(token: &Token, at: burstflare_core::time::Timestamp, expected_version: i64) -> Write {
    let used = Token { used_at: Some(at), version: expected_version + 1, ..token.clone() };
    Write::UpdateToken { token: used, expected_version }
}

pub async fn credentials_join_user_and_membership(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (secret, access) = token(TokenKind::Access, &fixtures::family(), &ada.user.id, &ada.workspace.id, h.now());
    // A token for a workspace Ada does not belong to (e.g. her membership was removed).
    let (_, foreign) = token(TokenKind::Access, &fixtures::family(), &ada.user.id, &bob.workspace.id, h.now());
    h.commit([Write::CreateToken(access.clone()), Write::CreateToken(foreign.clone())]).await?;

    let credential = h.ports.tokens.find_credential(&secret.hash()).await?.context("credential")?;
    assert_eq!(credential.token, access);
    assert_eq!(credential.user, ada.user);
    let membership = h.ports.memberships.get(&ada.workspace.id, &ada.user.id).await?;
    assert!(membership.is_some());
    assert_eq!(credential.membership, membership);

    let with_workspace = h.ports.tokens.find_credential_with_workspace(&secret.hash()).await?;
    let (same, workspace) = with_workspace.context("credential with its workspace")?;
    assert_eq!((same, workspace), (credential, Some((ada.workspace.clone(), 1))));

    let credential = h.ports.tokens.find_credential(&foreign.hash).await?.context("foreign credential")?;
    assert_eq!(credential.clone().membership, None);
    assert_eq!((credential.token.clone(), credential.user.clone()), (foreign.clone(), ada.user.clone()));
    // Bob's workspace gains a member: the count is read with the token.
    h.commit([Write::CreateMembership(fixtures::membership(&bob.workspace.id, &ada.user.id, Role::Viewer, h.now()))])
        .await?;
    let (found, workspace) =
        h.ports.tokens.find_credential_with_workspace(&foreign.hash).await?.context("foreign, with workspace")?;
    assert_eq!((found.token, workspace), (foreign, Some((bob.workspace.clone(), 2))));
    assert_eq!(h.ports.tokens.find_credential(&SecretHash::of("bfa_unknown")).await?, None);
    assert_eq!(h.ports.tokens.find_credential_with_workspace(&SecretHash::of("bfa_unknown")).await?, None);
    Ok(())
}

pub async fn used_revoked_and_expired_tokens_are_returned_as_they_are(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, refresh) = token(TokenKind::Refresh, &fixtures::family(), &ada.user.id, &ada.workspace.id, h.now());
    h.commit([Write::CreateToken(refresh.clone())]).await?;
    h.clock.advance_seconds(5);
    let used_at = h.now();
    h.commit([use_refresh(&refresh, used_at, 1)]).await?;
    h.clock.advance_seconds(5);
    let revoked_at = h.now();
    h.commit([Write::RevokeToken { token_id: refresh.id.clone(), at: revoked_at }]).await?;
    h.clock.advance_seconds(7200);

    let stored = h.stored(&refresh).await?;
    assert_eq!(stored, Token { used_at: Some(used_at), revoked_at: Some(revoked_at), version: 3, ..refresh });
    assert!(!stored.is_live(h.now()));
    Ok(())
}

pub async fn refresh_tokens_rotate_once(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, refresh) = token(TokenKind::Refresh, &fixtures::family(), &ada.user.id, &ada.workspace.id, h.now());
    h.commit([Write::CreateToken(refresh.clone())]).await?;
    let first = h.now();
    h.commit([use_refresh(&refresh, first, 1)]).await?;
    h.clock.advance_seconds(1);
    // A second exchange read the same version: it lost, and so does everything in its batch.
    let (_, successor) = token(TokenKind::Refresh, &refresh.family_id, &ada.user.id, &ada.workspace.id, h.now());
    assert_conflict(h.commit([use_refresh(&refresh, h.now(), 1), Write::CreateToken(successor.clone())]).await);
    let stored = h.stored(&refresh).await?;
    assert_eq!((stored.used_at, stored.version), (Some(first), 2));
    assert_eq!(h.ports.tokens.find_credential(&successor.hash).await?, None);
    Ok(())
}

pub async fn revoke_family_revokes_all_of_the_family_and_nothing_else(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (user, ws) = (&ada.user.id, &ada.workspace.id);
    let (family, other_family) = (fixtures::family(), fixtures::family());
    let (_, access) = token(TokenKind::Access, &family, user, ws, h.now());
    let (_, refresh) = token(TokenKind::Refresh, &family, user, ws, h.now());
    let (_, other) = token(TokenKind::Refresh, &other_family, user, ws, h.now());
    h.commit([access.clone(), refresh.clone(), other.clone()].map(Write::CreateToken)).await?;

    h.clock.advance_seconds(5);
    let at = h.now();
    h.commit([Write::RevokeFamily { family_id: family.clone(), at }]).await?;
    for token in [&access, &refresh] {
        let stored = h.stored(token).await?;
        assert_eq!((stored.revoked_at, stored.version), (Some(at), 2), "{:?} is revoked", token.kind);
    }
    assert_eq!(h.stored(&other).await?, other, "another family is untouched");

    // Revocation moves the version on, so an exchange that read the token before it loses.
    assert_conflict(h.commit([use_refresh(&refresh, h.now(), 1)]).await);

    // Revoking again changes nothing: the first revocation time stays.
    h.clock.advance_seconds(5);
    h.commit([Write::RevokeFamily { family_id: family.clone(), at: h.now() }]).await?;
    h.commit([Write::RevokeToken { token_id: access.id.clone(), at: h.now() }]).await?;
    assert_eq!(h.stored(&access).await?.revoked_at, Some(at));
    assert_eq!(h.stored(&access).await?.version, 2);

    // Unknown families and tokens are not an error.
    h.commit([
        Write::RevokeFamily { family_id: FamilyId::from_raw("fam_missing"), at: h.now() },
        Write::RevokeToken { token_id: TokenId::from_raw("tok_missing"), at: h.now() },
    ])
    .await?;

    // A token created earlier in the same batch is part of the family it revokes.
    let (_, late) = token(TokenKind::Access, &other_family, user, ws, h.now());
    let at = h.now();
    h.commit([Write::CreateToken(late.clone()), Write::RevokeFamily { family_id: other_family, at }]).await?;
    assert_eq!(h.stored(&late).await?.revoked_at, Some(at));
    assert_eq!(h.stored(&other).await?.revoked_at, Some(at));
    Ok(())
}

pub async fn token_hashes_are_unique(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, first) = token(TokenKind::Access, &fixtures::family(), &ada.user.id, &ada.workspace.id, h.now());
    h.commit([Write::CreateToken(first.clone())]).await?;
    let (_, mut copy) = token(TokenKind::Refresh, &fixtures::family(), &ada.user.id, &ada.workspace.id, h.now());
    copy.hash = first.hash.clone();
    let entry = fixtures::audit(Some(&ada.workspace.id), "lost", h.now());
    assert_conflict(h.commit([Write::Audit(entry), Write::CreateToken(copy)]).await);
    assert_eq!(h.stored(&first).await?, first);
    assert_eq!(h.ports.audit.list(&ada.workspace.id, 10).await?, vec![]);
    Ok(())
}
