//! Departures over each backend: an admin removes a member (whose access there ends at once while
//! their sessions stay with the workspace), a member leaves and falls back to their personal
//! workspace, pending invites are revoked, and the refusals around them (the owner, oneself, too
//! low a role) change nothing. A removal racing a role change has one winner.

use crate::contract::harness::{expect_code, Harness, PASSWORD};
use crate::contract::service::sessions::promoted;
use burstflare_core::ids::UserId;
use burstflare_core::values::{ClientKind, InviteStatus, Role, SessionState};
use burstflare_core::{Actor, ErrorKind};

/// The audit actions of the workspace, newest first.
async fn actions(h: &Harness, actor: &Actor) -> anyhow::Result<Vec<String>> {
    Ok(h.service.audit_log(actor, Some(200)).await?.into_iter().map(|e| e.action).collect())
}

pub async fn a_removed_member_loses_access_at_once_and_their_sessions_stay(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let (_, admin) = h.join(&owner, "adam@example.com", "admin").await?;
    let (mia_sign_in, mia) = h.join(&owner, "mia@example.com", "member").await?;
    let session = h.service.create_session(&mia, "mia-dev", &t).await?.session.id;
    h.service.start_session(&mia, &session).await?;
    let (runtime, _) = h.service.issue_runtime_token(&mia, &session).await?;

    let removed = h.service.remove_member(&admin, &mia.user.id).await?;
    assert_eq!((removed.user_id.clone(), removed.role), (mia.user.id.clone(), Role::Member));
    assert_eq!(h.ports.memberships.get(&owner.workspace_id, &mia.user.id).await?, None);
    // Every credential of Mia's in the workspace stops at once: access, refresh and runtime.
    expect_code(h.actor(&mia_sign_in).await, "unauthorized");
    expect_code(h.service.refresh(mia_sign_in.refresh.expose()).await, "unauthorized");
    expect_code(h.service.runtime_access(runtime.expose(), &session).await, "unauthorized");
    // Her own workspace is untouched, and signing in again lands there.
    let again = h.actor(&h.service.login("mia@example.com", PASSWORD, ClientKind::Api, None).await?).await?;
    assert_ne!(again.workspace_id, owner.workspace_id);
    let listed = h.service.list_workspaces(&again).await?;
    assert_eq!(listed.iter().map(|v| v.role).collect::<Vec<_>>(), vec![Role::Owner]);
    expect_code(h.service.switch_workspace(&again, &owner.workspace_id).await, "not_a_member");

    // The session stays with the workspace; the members left manage it.
    let view = h.service.show_session(&admin, &session).await?.0;
    assert_eq!(view.session.state, SessionState::Running);
    h.service.delete_session(&admin, &session).await?;

    let (members, _) = h.service.members(&owner).await?;
    assert_eq!(members.len(), 2);
    expect_code(h.service.remove_member(&admin, &mia.user.id).await, "membership_not_found");
    assert_eq!(actions(h, &owner).await?.iter().filter(|a| *a == "workspace.member_removed").count(), 1);
    Ok(())
}

pub async fn the_owner_stays_and_nobody_removes_themselves(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (admin_sign_in, admin) = h.join(&owner, "adam@example.com", "admin").await?;
    let (_, member) = h.join(&owner, "mia@example.com", "member").await?;
    let (_, viewer) = h.join(&owner, "vic@example.com", "viewer").await?;
    let before = h.snapshot(&owner.workspace_id).await?;
    let refused = expect_code(h.service.remove_member(&admin, &owner.user.id).await, "insufficient_permissions");
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert_eq!(expect_code(h.service.leave_workspace(&owner).await, "last_owner").kind(), ErrorKind::Conflict);
    expect_code(h.service.remove_member(&owner, &owner.user.id).await, "self_removal");
    expect_code(h.service.remove_member(&admin, &admin.user.id).await, "self_removal");
    expect_code(h.service.remove_member(&member, &viewer.user.id).await, "insufficient_permissions");
    expect_code(h.service.remove_member(&viewer, &member.user.id).await, "insufficient_permissions");
    let nobody = UserId::from_raw("usr_nope");
    expect_code(h.service.remove_member(&owner, &nobody).await, "membership_not_found");
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before, "refusals change nothing");
    // The owner removes an admin.
    h.service.remove_member(&owner, &admin.user.id).await?;
    expect_code(h.actor(&admin_sign_in).await, "unauthorized");
    Ok(())
}

pub async fn a_member_who_leaves_falls_back_to_their_personal_workspace(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (viewer_sign_in, viewer) = h.join(&owner, "vic@example.com", "viewer").await?;
    let personal = h.service.list_workspaces(&viewer).await?[0].workspace.id.clone();
    assert_ne!(personal, owner.workspace_id);

    let back = h.service.leave_workspace(&viewer).await?;
    assert_eq!((back.workspace.workspace.id.clone(), back.workspace.role), (personal.clone(), Role::Owner));
    let home = h.actor(&back).await?;
    assert_eq!((home.workspace_id.clone(), home.role()), (personal, Role::Owner));
    assert_ne!(home.family_id, viewer.family_id, "a new sign-in");
    expect_code(h.actor(&viewer_sign_in).await, "unauthorized");
    expect_code(h.service.refresh(viewer_sign_in.refresh.expose()).await, "unauthorized");
    assert_eq!(h.service.list_workspaces(&home).await?.len(), 1);
    assert_eq!(h.service.members(&owner).await?.0.len(), 1);
    let log = h.service.audit_log(&owner, Some(1)).await?;
    let last = (log[0].action.as_str(), log[0].actor_user_id.as_ref());
    assert_eq!(last, ("workspace.member_left", Some(&viewer.user.id)));
    // Invited again, they join again as anyone would.
    let (_, code) = h.service.create_invite(&owner, "vic@example.com", None).await?;
    assert_eq!(h.service.accept_invite(&home, code.expose()).await?.role, Role::Member);
    // The sign-in revoked on leaving stays revoked.
    expect_code(h.actor(&viewer_sign_in).await, "unauthorized");
    Ok(())
}

pub async fn revoked_invites_cannot_be_accepted(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (_, admin) = h.join(&owner, "adam@example.com", "admin").await?;
    let (_, member) = h.join(&owner, "mia@example.com", "member").await?;
    let (invite, code) = h.service.create_invite(&owner, "carol@example.com", Some("viewer")).await?;
    let stranger = h.actor(&h.register("stranger@example.com").await?).await?;

    let before = h.snapshot(&owner.workspace_id).await?;
    expect_code(h.service.revoke_invite(&member, &invite.id).await, "insufficient_permissions");
    expect_code(h.service.revoke_invite(&stranger, &invite.id).await, "invite_not_found");
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before, "refusals change nothing");

    let revoked = h.service.revoke_invite(&admin, &invite.id).await?;
    assert_eq!((revoked.status, revoked.version), (InviteStatus::Revoked, invite.version + 1));
    assert_eq!(h.ports.invites.get(&invite.id).await?, Some(revoked));
    assert_eq!(h.service.members(&owner).await?.1, vec![], "no longer pending");
    let carol = h.actor(&h.register("carol@example.com").await?).await?;
    let refused = expect_code(h.service.accept_invite(&carol, code.expose()).await, "invite_revoked");
    assert_eq!(refused.kind(), ErrorKind::Gone);
    expect_code(h.service.revoke_invite(&admin, &invite.id).await, "invite_revoked");
    assert!(actions(h, &owner).await?.contains(&"workspace.invite_revoked".to_string()));

    // An accepted invite is no longer revocable.
    let (used, code) = h.service.create_invite(&owner, "dan@example.com", None).await?;
    let dan = h.actor(&h.register("dan@example.com").await?).await?;
    h.service.accept_invite(&dan, code.expose()).await?;
    expect_code(h.service.revoke_invite(&owner, &used.id).await, "invite_used");
    Ok(())
}

pub async fn a_removal_racing_a_role_change_has_one_winner(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (_, admin) = h.join(&owner, "adam@example.com", "admin").await?;
    for round in 0..8 {
        let (target_sign_in, target) = h.join(&owner, &format!("t{round}@example.com"), "member").await?;
        let mut removals = Vec::new();
        let mut changes = Vec::new();
        for (i, who) in [&owner, &admin, &owner].into_iter().enumerate() {
            let (service, actor, user) = (h.service.clone(), admin.clone(), target.user.id.clone());
            let role = if i % 2 == 0 { "viewer" } else { "admin" };
            let change = async move { service.set_member_role(&actor, &user, role).await };
            let (service, actor, user) = (h.service.clone(), who.clone(), target.user.id.clone());
            let removal = async move { service.remove_member(&actor, &user).await };
            // Either side is spawned first in turn, so each gets to win some rounds.
            if (round + i) % 2 == 0 {
                changes.push(tokio::spawn(change));
                removals.push(tokio::spawn(removal));
            } else {
                removals.push(tokio::spawn(removal));
                changes.push(tokio::spawn(change));
            }
        }
        let (mut removed, mut changed) = (0, Vec::new());
        for task in removals {
            match task.await? {
                Ok(_) => removed += 1,
                Err(e) => assert!(matches!(e.code.as_str(), "conflict" | "membership_not_found"), "{e:?}"),
            }
        }
        for task in changes {
            match task.await? {
                Ok(m) => changed.push(m),
                Err(e) => assert!(matches!(e.code.as_str(), "conflict" | "membership_not_found"), "{e:?}"),
            }
        }
        let stored = h.ports.memberships.get(&owner.workspace_id, &target.user.id).await?;
        match &stored {
            // One removal won: the member is gone.
            None => assert_eq!(removed, 1, "round {round}"),
            // Every removal lost its guard: the member stays as the last role change left them,
            // with one version per change that won.
            Some(m) => {
                assert_eq!(removed, 0, "round {round}");
                assert_eq!(m.version, 1 + i64::try_from(changed.len())?, "round {round}");
                assert!(changed.iter().any(|c| c == m), "round {round}: {m:?} is no winner's");
            }
        }
        assert_eq!(stored.is_none(), h.actor(&target_sign_in).await.is_err(), "access follows the membership");
    }
    Ok(())
}
