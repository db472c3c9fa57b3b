//! Workspaces and membership: listing, members, invites (create, accept), role changes, plan
//! changes, and the audit log (departures and revoked invites are in `members`).

use super::{Actor, Service};
use crate::error::{Code, Error, Result};
use crate::ids::{InviteId, UserId};
use crate::machines::invites::{self, InviteEvent};
use crate::model::{AuditEntry, Invite, Member, Membership, WorkspaceView};
use crate::secret::{prefix, Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::values::{Email, InviteStatus, Plan, Role};
use serde_json::json;

/// Audit pages are at most this long.
pub const MAX_AUDIT_PAGE: u32 = 200;

impl Service {
    /// Every workspace the caller belongs to, with their role in each.
    pub async fn list_workspaces(&self, actor: &Actor) -> Result<Vec<WorkspaceView>> {
        let mut views = Vec::new();
        for (workspace, role) in self.ports.workspaces.list_for_user(&actor.user.id).await? {
            views.push(self.view(workspace, role).await?);
        }
        Ok(views)
    }

    /// Members of the current workspace and its pending, unexpired invites.
    pub async fn members(&self, actor: &Actor) -> Result<(Vec<Member>, Vec<Invite>)> {
        let members = self.ports.memberships.list(&actor.workspace_id).await?;
        let invites = self.ports.invites.list_pending(&actor.workspace_id, self.now()).await?;
        Ok((members, invites))
    }

    /// Invites an email to the current workspace (admins and the owner). Returns the invite and its
    /// single-use code, which is shown only now.
    pub async fn create_invite(&self, actor: &Actor, email: &str, role: Option<&str>) -> Result<(Invite, Secret)> {
        actor.require(Role::Admin)?;
        let email = Email::parse(email)?;
        let role = role.map(Role::parse_assignable).transpose()?.unwrap_or(Role::Member);
        if let Some((user, _)) = self.ports.users.find_by_email(&email.normalised()).await? {
            if self.ports.memberships.get(&actor.workspace_id, &user.id).await?.is_some() {
                return Err(Error::new(Code::AlreadyMember, "This person is already a member"));
            }
        }
        let now = self.now();
        let code = Secret::time_ordered(prefix::INVITE, now.millis(), self.ports.random.bytes32());
        let invite = Invite {
            id: InviteId::from_uuid(self.ports.random.uuid()),
            code_hash: code.hash(),
            workspace_id: actor.workspace_id.clone(),
            email: Email::from_stored(email.normalised()),
            role,
            status: InviteStatus::Pending,
            created_by_user_id: actor.user.id.clone(),
            created_at: now,
            expires_at: now.plus_seconds(self.config.invite_ttl_seconds),
            accepted_at: None,
            accepted_by_user_id: None,
            version: 1,
        };
        let mut batch = Batch::new();
        batch.push(Write::CreateInvite(invite.clone())).push(self.audit(
            "workspace.invite_created",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("workspace_invite", invite.id.as_str()),
            json!({ "email": invite.email, "role": role.as_str() }),
        ));
        self.commit(batch).await?;
        Ok((invite, code))
    }

    /// Joins the invite's workspace. The invite must be pending, unexpired and addressed to the
    /// caller's email; it can be used once. The caller's token stays on its workspace (switch next).
    pub async fn accept_invite(&self, actor: &Actor, code: &str) -> Result<WorkspaceView> {
        let not_found = || Error::new(Code::InviteNotFound, "Invite not found");
        if !code.starts_with(&format!("{}_", prefix::INVITE)) {
            return Err(not_found());
        }
        let invite = self.ports.invites.find_by_code(&SecretHash::of(code)).await?.ok_or_else(not_found)?;
        let now = self.now();
        let event = InviteEvent::Accepted { by: actor.user.id.clone(), email: actor.user.email.clone() };
        let accepted = invites::apply(&invite, event, now)?;
        if self.ports.memberships.get(&invite.workspace_id, &actor.user.id).await?.is_some() {
            return Err(Error::new(Code::AlreadyMember, "You are already a member of this workspace"));
        }
        let workspace = self.workspace(&invite.workspace_id).await?;
        let membership = Membership {
            workspace_id: invite.workspace_id.clone(),
            user_id: actor.user.id.clone(),
            role: invite.role,
            created_at: now,
            version: 1,
        };
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateInvite { invite: accepted, expected_version: invite.version })
            .push(Write::CreateMembership(membership))
            .push(self.audit(
                "workspace.invite_accepted",
                Some(&actor.user.id),
                Some(&invite.workspace_id),
                ("workspace_invite", invite.id.as_str()),
                json!({ "role": invite.role.as_str() }),
            ));
        self.commit(batch).await?;
        self.view(workspace, invite.role).await
    }

    /// Changes a member's role (admins and the owner); the owner's role never changes.
    pub async fn set_member_role(&self, actor: &Actor, user: &UserId, role: &str) -> Result<Membership> {
        actor.require(Role::Admin)?;
        let role = Role::parse_assignable(role)?;
        let mut membership = self
            .ports
            .memberships
            .get(&actor.workspace_id, user)
            .await?
            .ok_or_else(|| Error::new(Code::MembershipNotFound, "Membership not found"))?;
        if membership.role == Role::Owner {
            return Err(Error::new(Code::OwnerImmutable, "The owner's role cannot be changed"));
        }
        let previous = membership.clone();
        membership.role = role;
        membership.version += 1;
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateMembership { membership: membership.clone(), expected_version: previous.version })
            .push(self.audit(
                "workspace.member_role_updated",
                Some(&actor.user.id),
                Some(&actor.workspace_id),
                ("workspace_membership", &format!("{}:{}", actor.workspace_id, user)),
                json!({ "role": role.as_str(), "previousRole": previous.role.as_str() }),
            ));
        self.commit(batch).await?;
        Ok(membership)
    }

    /// Moves the current workspace to another plan (admins and the owner).
    pub async fn set_plan(&self, actor: &Actor, plan: &str) -> Result<WorkspaceView> {
        actor.require(Role::Admin)?;
        let plan = Plan::parse(plan)?;
        let mut workspace = self.workspace(&actor.workspace_id).await?;
        let previous = workspace.clone();
        workspace.plan = plan;
        workspace.version += 1;
        let mut batch = Batch::new();
        batch.push(Write::UpdateWorkspace { workspace: workspace.clone(), expected_version: previous.version }).push(
            self.audit(
                "workspace.plan_updated",
                Some(&actor.user.id),
                Some(&workspace.id),
                ("workspace", workspace.id.as_str()),
                json!({ "plan": plan.as_str(), "previousPlan": previous.plan.as_str() }),
            ),
        );
        self.commit(batch).await?;
        self.view(workspace, actor.role()).await
    }

    /// The newest audit entries of the current workspace, newest first.
    pub async fn audit_log(&self, actor: &Actor, limit: Option<u32>) -> Result<Vec<AuditEntry>> {
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_AUDIT_PAGE {
            return Err(Error::new(Code::InvalidLimit, "limit must be between 1 and 200"));
        }
        Ok(self.ports.audit.list(&actor.workspace_id, limit).await?)
    }
}
