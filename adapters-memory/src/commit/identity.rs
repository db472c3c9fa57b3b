//! The rows of memberships and tokens as a batch so far left them: a membership the batch
//! removed reads as gone, and revocations reach the tokens the batch itself creates.

use super::Staged;
use crate::state::{MembershipKey, State};
use burstflare_core::ids::{FamilyId, TokenId, UserId, WorkspaceId};
use burstflare_core::model::{Membership, Token};
use burstflare_core::time::Timestamp;

impl Staged {
    /// Revokes a token that is not revoked yet (a change, so its version moves on); a missing or
    /// already revoked token is left alone.
    pub(super) fn revoke(&mut self, state: &State, token_id: TokenId, at: Timestamp) {
        if let Some(mut token) = self.tokens.read(&state.tokens, &token_id) {
            if token.revoked_at.is_none() {
                token.revoked_at = Some(at);
                token.version += 1;
                self.tokens.put(token_id, token);
            }
        }
    }

    /// The membership as the batch so far left it (none once the batch removed it).
    pub(super) fn membership(&self, state: &State, key: &MembershipKey) -> Option<Membership> {
        if self.removed_memberships.contains(key) {
            return None;
        }
        self.memberships.read(&state.memberships, key)
    }

    /// Every token of the user bound to the workspace: stored ones, then those this batch creates.
    pub(super) fn member_tokens(&self, state: &State, workspace: &WorkspaceId, user: &UserId) -> Vec<TokenId> {
        let of_member = |t: &Token| &t.workspace_id == workspace && &t.user_id == user;
        let mut ids: Vec<TokenId> = state.tokens.iter().filter(|t| of_member(t)).map(|t| t.id.clone()).collect();
        let created = self.tokens.order.iter().filter(|id| !state.tokens.contains(id));
        ids.extend(created.filter(|id| self.tokens.rows.get(*id).is_some_and(of_member)).cloned());
        ids
    }

    /// Every token of the family: stored ones, then those this batch creates.
    pub(super) fn family(&self, state: &State, family: &FamilyId) -> Vec<TokenId> {
        let mut ids: Vec<TokenId> = state.families.get(family).cloned().unwrap_or_default();
        let created = self.tokens.order.iter().filter(|id| !state.tokens.contains(id));
        ids.extend(created.filter(|id| self.tokens.rows.get(*id).is_some_and(|t| &t.family_id == family)).cloned());
        ids
    }
}
