//! Users, workspaces and memberships: lookups, uniqueness, list order and member counts.

use crate::contract::fixtures::{self, membership};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::{UserId, WorkspaceId};
use burstflare_core::store::Write;
use burstflare_core::time::Timestamp;
use burstflare_core::values::Role;

pub async fn users_are_found_by_email_case_insensitively(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("Ada.Lovelace@Example.COM").await?;
    let found = h.ports.users.find_by_email("ada.lovelace@example.com").await?;
    let (user, hash) = found.context("the normalised email finds the user")?;
    assert_eq!(user, ada.user);
    assert_eq!(user.email.as_str(), "Ada.Lovelace@Example.COM", "the email is kept as typed");
    assert_eq!(hash, "$argon2id$not-a-real-hash");
    assert_eq!(h.ports.users.get(&ada.user.id).await?, Some(ada.user));
    assert_eq!(h.ports.users.find_by_email("grace@example.com").await?, None);
    assert_eq!(h.ports.users.get(&UserId::from_raw("usr_missing")).await?, None);
    Ok(())
}

pub async fn duplicate_emails_conflict_and_nothing_lands(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let twin = fixtures::user("ADA@Example.com", h.now());
    let entry = fixtures::audit(Some(&ada.workspace.id), "before the duplicate", h.now());
    assert_conflict(
        h.commit([Write::Audit(entry), Write::CreateUser { user: twin.clone(), password_hash: "h".into() }]).await,
    );
    assert_eq!(h.ports.users.get(&twin.id).await?, None);
    assert_eq!(h.ports.audit.list(&ada.workspace.id, 10).await?, vec![], "the batch's audit entry must not land");
    let (user, hash) = h.ports.users.find_by_email("ada@example.com").await?.context("ada is still there")?;
    assert_eq!((user, hash.as_str()), (ada.user, "$argon2id$not-a-real-hash"), "the first account is kept whole");

    // Two accounts for one email inside a single batch conflict too.
    let grace = fixtures::user("grace@example.com", h.now());
    let grace_twin = fixtures::user("Grace@example.com", h.now());
    assert_conflict(
        h.commit([
            Write::CreateUser { user: grace, password_hash: "h".into() },
            Write::CreateUser { user: grace_twin, password_hash: "h".into() },
        ])
        .await,
    );
    assert_eq!(h.ports.users.find_by_email("grace@example.com").await?, None);
    Ok(())
}

pub async fn workspaces_list_oldest_membership_first_with_counts(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    h.clock.advance_seconds(10);
    let bob = h.account("bob@example.com").await?;
    h.clock.advance_seconds(10);
    let carol = h.account("carol@example.com").await?;
    h.clock.advance_seconds(10);
    // Ada joins Carol's (newer) workspace before Bob's: memberships, not workspaces, set the order.
    h.commit([Write::CreateMembership(membership(&carol.workspace.id, &ada.user.id, Role::Viewer, h.now()))]).await?;
    h.clock.advance_seconds(10);
    h.commit([Write::CreateMembership(membership(&bob.workspace.id, &ada.user.id, Role::Admin, h.now()))]).await?;

    let listed = h.ports.workspaces.list_for_user(&ada.user.id).await?;
    let ids: Vec<(WorkspaceId, Role)> = listed.iter().map(|(w, role)| (w.id.clone(), *role)).collect();
    assert_eq!(
        ids,
        vec![
            (ada.workspace.id.clone(), Role::Owner),
            (carol.workspace.id.clone(), Role::Viewer),
            (bob.workspace.id.clone(), Role::Admin),
        ]
    );
    assert_eq!(listed[1].0, carol.workspace, "the whole workspace record round-trips");
    assert_eq!(h.ports.workspaces.list_for_user(&UserId::from_raw("usr_missing")).await?, vec![]);

    assert_eq!(h.ports.workspaces.member_count(&ada.workspace.id).await?, 1);
    assert_eq!(h.ports.workspaces.member_count(&bob.workspace.id).await?, 2);
    assert_eq!(h.ports.workspaces.member_count(&WorkspaceId::from_raw("ws_missing")).await?, 0);

    let members = h.ports.memberships.list(&bob.workspace.id).await?;
    let who: Vec<(&UserId, Role)> = members.iter().map(|m| (&m.user.id, m.membership.role)).collect();
    assert_eq!(who, vec![(&bob.user.id, Role::Owner), (&ada.user.id, Role::Admin)]);
    assert_eq!(members[1].user, ada.user);
    let got = h.ports.memberships.get(&bob.workspace.id, &ada.user.id).await?;
    assert_eq!(got.as_ref(), Some(&members[1].membership));
    assert_eq!(members[1].membership, membership(&bob.workspace.id, &ada.user.id, Role::Admin, h.now()));
    assert_eq!(h.ports.memberships.get(&ada.workspace.id, &bob.user.id).await?, None);
    Ok(())
}

pub async fn memberships_order_by_time_then_insertion(h: &Harness) -> anyhow::Result<()> {
    let owner = h.account("owner@example.com").await?;
    let dave = h.account("dave@example.com").await?;
    let erin = h.account("erin@example.com").await?;
    let frank = h.account("frank@example.com").await?;
    let ws = &owner.workspace.id;
    let now = h.now();
    h.commit([
        Write::CreateMembership(membership(ws, &erin.user.id, Role::Member, now)),
        Write::CreateMembership(membership(ws, &dave.user.id, Role::Member, now)),
    ])
    .await?;
    // Inserted last but stamped earlier: time decides first, insertion order breaks ties.
    let earlier = Timestamp(now.millis() - 1000);
    h.commit([Write::CreateMembership(membership(ws, &frank.user.id, Role::Member, earlier))]).await?;
    let order: Vec<UserId> = h.ports.memberships.list(ws).await?.into_iter().map(|m| m.user.id).collect();
    assert_eq!(order, vec![frank.user.id.clone(), owner.user.id, erin.user.id, dave.user.id]);
    let franks: Vec<WorkspaceId> =
        h.ports.workspaces.list_for_user(&frank.user.id).await?.into_iter().map(|(w, _)| w.id).collect();
    assert_eq!(franks, vec![ws.clone(), frank.workspace.id]);
    Ok(())
}

pub async fn membership_keys_are_unique(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let again = membership(&ada.workspace.id, &ada.user.id, Role::Viewer, h.now());
    assert_conflict(h.commit([Write::CreateMembership(again)]).await);
    let kept = h.ports.memberships.get(&ada.workspace.id, &ada.user.id).await?.context("membership")?;
    assert_eq!(kept.role, Role::Owner);
    assert_eq!(h.ports.workspaces.member_count(&ada.workspace.id).await?, 1);

    // Reusing a workspace id is a conflict as well.
    let mut copy = fixtures::workspace(&ada.user.id, "copy", h.now());
    copy.id = ada.workspace.id.clone();
    assert_conflict(h.commit([Write::CreateWorkspace(copy)]).await);
    assert_eq!(h.ports.workspaces.get(&ada.workspace.id).await?, Some(ada.workspace));
    Ok(())
}

pub async fn references_must_exist(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let ghost = fixtures::user("ghost@example.com", h.now());
    let orphan = membership(&ada.workspace.id, &ghost.id, Role::Member, h.now());
    assert_conflict(h.commit([Write::CreateMembership(orphan)]).await);
    let nowhere = WorkspaceId::from_raw("ws_missing");
    let (_, token) = fixtures::token(
        burstflare_core::values::TokenKind::Access,
        &fixtures::family(),
        &ada.user.id,
        &nowhere,
        h.now(),
    );
    assert_conflict(h.commit([Write::CreateToken(token.clone())]).await);
    assert_eq!(h.ports.tokens.find_credential(&token.hash).await?, None);
    assert_eq!(h.ports.workspaces.member_count(&ada.workspace.id).await?, 1);
    // A workspace needs an owner that exists.
    let orphan = fixtures::workspace(&ghost.id, "orphan", h.now());
    assert_conflict(h.commit([Write::CreateWorkspace(orphan.clone())]).await);
    assert_eq!(h.ports.workspaces.get(&orphan.id).await?, None);
    Ok(())
}
