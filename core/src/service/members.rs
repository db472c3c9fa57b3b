//! Leaving a workspace: an admin removes a member, a member leaves, an admin revokes a pending
//! invite. Each is one guarded batch with its audit entry.
//!
//! What removal means, wherever the member is signed in:
//! - the membership row goes, guarded by the version that was read (so a removal racing a role
//!   change or a second removal has one winner; the loser gets a conflict, then a 404);
//! - every token of that user bound to the workspace (access, refresh, runtime) is revoked in the
//!   same batch, so their next request there is 401 and their runtime links stop opening;
//! - their sessions, templates and snapshots stay: they belong to the workspace, and the members
//!   left (admins included) stop or delete them as any other of its sessions;
//! - the owner stays: an admin cannot remove them, and they cannot leave (`last_owner`). Every
//!   account owns its personal workspace, so a member who leaves always has one to fall back to.

use super::{Actor, Service, SignIn};
use crate::error::{Code, Error, Result};
use crate::ids::{InviteId, UserId};
use crate::machines::invites::{self, InviteEvent};
use crate::model::{Invite, Membership};
use crate::store::{Batch, Write};
use crate::values::Role;
use serde_json::json;

fn membership_not_found() -> Error {
    Error::new(Code::MembershipNotFound, "Membership not found")
}

fn last_owner() -> Error {
    Error::new(Code::LastOwner, "The workspace's owner cannot leave it or be removed from it")
}

impl Service {
    /// Removes `user` from the current workspace (admins and the owner). Nobody removes the owner
    /// (admins are refused with 403), and callers leave with [`leave_workspace`](Self::leave_workspace)
    /// rather than by removing themselves. Returns the membership as it was.
    pub async fn remove_member(&self, actor: &Actor, user: &UserId) -> Result<Membership> {
        actor.require(Role::Admin)?;
        if user == &actor.user.id {
            return Err(Error::new(Code::SelfRemoval, "Use leave to leave the workspace"));
        }
        let membership =
            self.ports.memberships.get(&actor.workspace_id, user).await?.ok_or_else(membership_not_found)?;
        if membership.role == Role::Owner {
            return Err(match actor.role() {
                Role::Owner => last_owner(),
                _ => Error::new(Code::InsufficientPermissions, "An admin cannot remove the owner"),
            });
        }
        let mut batch = Batch::new();
        self.push_departure(&mut batch, &membership);
        batch.push(self.audit(
            "workspace.member_removed",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("workspace_membership", &format!("{}:{}", actor.workspace_id, user)),
            json!({ "userId": user.as_str(), "role": membership.role.as_str() }),
        ));
        self.commit(batch).await?;
        Ok(membership)
    }

    /// The caller leaves their current workspace (anyone but the owner). Their tokens there are
    /// revoked (the one presented included), and they are signed in to the oldest workspace they
    /// still belong to (their personal one), as a new token family, as if they had switched.
    pub async fn leave_workspace(&self, actor: &Actor) -> Result<SignIn> {
        if actor.role() == Role::Owner {
            return Err(last_owner());
        }
        let remaining = self.ports.workspaces.list_for_user(&actor.user.id).await?;
        let fallback = remaining.into_iter().find(|(w, _)| w.id != actor.workspace_id);
        let Some((workspace, role)) = fallback else {
            return Err(Error::new(Code::Conflict, "You have no other workspace to fall back to"));
        };
        let view = self.view(workspace, role).await?;
        let mut batch = Batch::new();
        self.push_departure(&mut batch, &actor.membership);
        batch.push(self.audit(
            "workspace.member_left",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("workspace_membership", &format!("{}:{}", actor.workspace_id, actor.user.id)),
            json!({ "role": actor.role().as_str(), "to": view.workspace.id.as_str() }),
        ));
        let sign_in = self.issue_pair(&mut batch, actor.user.clone(), view, actor.client, None);
        self.commit(batch).await?;
        Ok(sign_in)
    }

    /// Withdraws a pending invite of the current workspace (admins and the owner); its code can
    /// no longer be accepted (`invite_revoked`). An invite of another workspace is not found.
    pub async fn revoke_invite(&self, actor: &Actor, id: &InviteId) -> Result<Invite> {
        actor.require(Role::Admin)?;
        let invite = self
            .ports
            .invites
            .get(id)
            .await?
            .filter(|i| i.workspace_id == actor.workspace_id)
            .ok_or_else(|| Error::new(Code::InviteNotFound, "Invite not found"))?;
        let revoked = invites::apply(&invite, InviteEvent::Revoked, self.now())?;
        let mut batch = Batch::new();
        batch.push(Write::UpdateInvite { invite: revoked.clone(), expected_version: invite.version }).push(self.audit(
            "workspace.invite_revoked",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("workspace_invite", invite.id.as_str()),
            json!({ "email": invite.email, "role": invite.role.as_str() }),
        ));
        self.commit(batch).await?;
        Ok(revoked)
    }

    /// The writes every departure makes: the guarded removal and the revocation of the user's
    /// tokens bound to the workspace.
    fn push_departure(&self, batch: &mut Batch, membership: &Membership) {
        batch
            .push(Write::DeleteMembership {
                workspace_id: membership.workspace_id.clone(),
                user_id: membership.user_id.clone(),
                expected_version: membership.version,
            })
            .push(Write::RevokeMemberTokens {
                workspace_id: membership.workspace_id.clone(),
                user_id: membership.user_id.clone(),
                at: self.now(),
            });
    }
}
