//! Workspace use cases over each backend: invite → accept → switch, the refusals around them
//! (wrong email, too low a role, the owner's role), and plan changes. Every refusal is checked to
//! leave the workspace exactly as it was.

use crate::contract::fixtures::invite;
use crate::contract::harness::{expect_code, Harness};
use burstflare_core::secret::SecretHash;
use burstflare_core::service::SignIn;
use burstflare_core::store::Write;
use burstflare_core::values::{InviteStatus, Plan, Role};
use burstflare_core::{Actor, ErrorKind};

impl Harness {
    /// Invites `email` to the owner's workspace with `role`, registers that person, accepts and
    /// switches: returns their sign-in bound to the owner's workspace.
    pub(crate) async fn join(&self, owner: &Actor, email: &str, role: &str) -> anyhow::Result<(SignIn, Actor)> {
        let (_, code) = self.service.create_invite(owner, email, Some(role)).await?;
        let own = self.register(email).await?;
        let own_actor = self.actor(&own).await?;
        self.service.accept_invite(&own_actor, code.expose()).await?;
        let switched = self.service.switch_workspace(&own_actor, &owner.workspace_id).await?;
        let actor = self.actor(&switched).await?;
        Ok((switched, actor))
    }
}

pub async fn invites_are_accepted_then_switched_to(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let ws = owner.workspace_id.clone();
    let (invite, code) = h.service.create_invite(&owner, "Bob@Example.com", Some("member")).await?;
    assert_eq!(
        (invite.email.as_str(), invite.role, invite.status),
        ("bob@example.com", Role::Member, InviteStatus::Pending)
    );
    let (members, pending) = h.service.members(&owner).await?;
    assert_eq!((members.len(), pending), (1, vec![invite.clone()]));

    let bob = h.register("bob@example.com").await?;
    let bob_actor = h.actor(&bob).await?;
    let joined = h.service.accept_invite(&bob_actor, code.expose()).await?;
    assert_eq!((joined.workspace.id.clone(), joined.role, joined.member_count), (ws.clone(), Role::Member, 2));
    expect_code(h.service.accept_invite(&bob_actor, code.expose()).await, "invite_used");

    let (members, pending) = h.service.members(&owner).await?;
    let who: Vec<_> = members.iter().map(|m| (m.user.id.clone(), m.membership.role)).collect();
    assert_eq!(who, vec![(owner.user.id.clone(), Role::Owner), (bob.user.id.clone(), Role::Member)]);
    assert_eq!(pending, vec![]);

    let listed = h.service.list_workspaces(&bob_actor).await?;
    let summary: Vec<_> = listed.iter().map(|v| (v.workspace.id.clone(), v.role, v.member_count)).collect();
    assert_eq!(summary, vec![(bob.workspace.workspace.id.clone(), Role::Owner, 1), (ws.clone(), Role::Member, 2)]);

    let switched = h.service.switch_workspace(&bob_actor, &ws).await?;
    assert_eq!((switched.workspace.workspace.id.clone(), switched.workspace.role), (ws.clone(), Role::Member));
    let in_team = h.actor(&switched).await?;
    assert_eq!((in_team.workspace_id.clone(), in_team.role()), (ws.clone(), Role::Member));
    // The token used to switch stays bound to its own workspace.
    assert_eq!(h.actor(&bob).await?.workspace_id, bob.workspace.workspace.id);

    let stranger = h.actor(&h.register("stranger@example.com").await?).await?;
    expect_code(h.service.switch_workspace(&stranger, &ws).await, "not_a_member");
    expect_code(h.service.accept_invite(&stranger, "bfi_unknown").await, "invite_not_found");
    Ok(())
}

/// Invite codes carry the time they were minted, and their stored hash starts with it (so new
/// invites append to the hash's index); a code of the older, plain form is still accepted.
pub async fn invite_codes_sort_by_time_and_older_codes_still_work(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (first, first_code) = h.service.create_invite(&owner, "bob@example.com", None).await?;
    h.clock.advance_seconds(1);
    let (second, second_code) = h.service.create_invite(&owner, "carol@example.com", None).await?;
    assert!(first.code_hash.as_str() < second.code_hash.as_str(), "a later invite's hash sorts after");
    assert_eq!(first.code_hash, SecretHash::of(first_code.expose()));
    assert_eq!(&first.code_hash.as_str()[..12], &first_code.expose()[4..16], "led by the code's own time");
    assert_ne!(first_code.expose()[4..16], second_code.expose()[4..16]);

    // An invite stored before codes carried their time.
    let (plain_code, plain) = invite(&owner.workspace_id, &owner.user.id, "dave@example.com", h.now(), 3600);
    assert_eq!(plain.code_hash.as_str().len(), 64);
    h.commit([Write::CreateInvite(plain)]).await?;
    let dave = h.actor(&h.register("dave@example.com").await?).await?;
    let joined = h.service.accept_invite(&dave, plain_code.expose()).await?;
    assert_eq!(joined.workspace.id, owner.workspace_id);

    // A new code with its time altered finds nothing.
    let carol = h.actor(&h.register("carol@example.com").await?).await?;
    let mut altered = second_code.expose().to_string();
    altered.replace_range(15..16, if &altered[15..16] == "0" { "1" } else { "0" });
    expect_code(h.service.accept_invite(&carol, &altered).await, "invite_not_found");
    h.service.accept_invite(&carol, second_code.expose()).await?;
    Ok(())
}

pub async fn invites_for_another_email_or_expired_are_refused(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (_, code) = h.service.create_invite(&owner, "carol@example.com", None).await?;
    let mallory = h.actor(&h.register("mallory@example.com").await?).await?;
    let before = h.snapshot(&owner.workspace_id).await?;
    let refused = expect_code(h.service.accept_invite(&mallory, code.expose()).await, "invite_email_mismatch");
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before);
    expect_code(h.service.create_invite(&owner, "owner@example.com", None).await, "already_member");

    let carol = h.actor(&h.register("carol@example.com").await?).await?;
    h.clock.advance_seconds(h.service.config().invite_ttl_seconds);
    let before = h.snapshot(&owner.workspace_id).await?;
    let expired = expect_code(h.service.accept_invite(&carol, code.expose()).await, "invite_expired");
    assert_eq!(expired.kind(), ErrorKind::Gone);
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before);
    assert_eq!(before.members.len(), 1);
    Ok(())
}

pub async fn viewers_cannot_manage_the_workspace(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (_, viewer) = h.join(&owner, "vic@example.com", "viewer").await?;
    assert_eq!(viewer.role(), Role::Viewer);
    let before = h.snapshot(&owner.workspace_id).await?;
    for refused in [
        h.service.create_invite(&viewer, "eve@example.com", None).await.map(|_| ()),
        h.service.set_plan(&viewer, "pro").await.map(|_| ()),
        h.service.set_member_role(&viewer, &viewer.user.id, "admin").await.map(|_| ()),
    ] {
        assert_eq!(expect_code(refused, "insufficient_permissions").kind(), ErrorKind::Forbidden);
    }
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before, "refusals change nothing");
    // Reading is allowed.
    assert_eq!(h.service.members(&viewer).await?.0.len(), 2);
    Ok(())
}

pub async fn the_owner_role_is_immutable(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let (_, admin) = h.join(&owner, "adam@example.com", "admin").await?;
    let (member_sign_in, member) = h.join(&owner, "mia@example.com", "member").await?;
    let before = h.snapshot(&owner.workspace_id).await?;
    expect_code(h.service.set_member_role(&admin, &owner.user.id, "member").await, "owner_immutable");
    expect_code(h.service.set_member_role(&owner, &owner.user.id, "admin").await, "owner_immutable");
    expect_code(h.service.set_member_role(&owner, &admin.user.id, "owner").await, "invalid_role");
    expect_code(h.service.set_member_role(&member, &admin.user.id, "viewer").await, "insufficient_permissions");
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before, "refusals change nothing");

    let changed = h.service.set_member_role(&admin, &member.user.id, "viewer").await?;
    assert_eq!((changed.role, changed.version), (Role::Viewer, 2));
    let stored = h.ports.memberships.get(&owner.workspace_id, &member.user.id).await?;
    assert_eq!(stored, Some(changed));
    // The member's existing token now carries the new role.
    assert_eq!(h.actor(&member_sign_in).await?.role(), Role::Viewer);
    Ok(())
}

pub async fn plans_change_with_their_limits(h: &Harness) -> anyhow::Result<()> {
    let owner = h.actor(&h.register("owner@example.com").await?).await?;
    let view = h.service.set_plan(&owner, "pro").await?;
    assert_eq!((view.workspace.plan, view.workspace.version), (Plan::Pro, 2));
    assert_eq!(view.limits, Plan::Pro.limits());
    let listed = h.service.list_workspaces(&owner).await?;
    assert_eq!(listed[0].workspace, view.workspace);

    let before = h.snapshot(&owner.workspace_id).await?;
    expect_code(h.service.set_plan(&owner, "platinum").await, "invalid_plan");
    expect_code(h.service.audit_log(&owner, Some(0)).await, "invalid_limit");
    assert_eq!(h.snapshot(&owner.workspace_id).await?, before);

    let log = h.service.audit_log(&owner, Some(2)).await?;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["workspace.plan_updated", "user.registered"]);
    Ok(())
}
