//! The read ports, the unit of work and the rate limiter over [`MemoryStore`]'s state. Lists
//! order by their timestamp and break ties by insertion order (oldest-first lists) or reverse
//! insertion order (newest-first lists).

use crate::commit;
use crate::state::State;
use crate::MemoryStore;
use async_trait::async_trait;
use burstflare_core::ids::{InviteId, UserId, WorkspaceId};
use burstflare_core::model::{
    AuditEntry, Credential, DeviceAuthorization, Invite, Member, Membership, User, Workspace,
};
use burstflare_core::ports::{
    AuditRepo, CredentialWithWorkspace, DeviceRepo, Housekeeping, InviteRepo, MembershipRepo, PortResult, Purged,
    RateLimiter, TokenRepo, UnitOfWork, UserRepo, WindowCount, WorkspaceRepo,
};
use burstflare_core::secret::SecretHash;
use burstflare_core::store::Batch;
use burstflare_core::time::Timestamp;
use burstflare_core::values::{InviteStatus, Role};
use std::cmp::Reverse;

/// A workspace's (or user's) memberships, oldest first.
fn memberships<'a>(state: &'a State, positions: Option<&Vec<usize>>) -> Vec<&'a Membership> {
    let mut rows: Vec<&Membership> = positions.into_iter().flatten().map(|&at| state.memberships.at(at)).collect();
    rows.sort_by_key(|m| m.created_at);
    rows
}

#[async_trait]
impl UserRepo for MemoryStore {
    async fn get(&self, id: &UserId) -> PortResult<Option<User>> {
        self.read(|s| s.users.get(id).map(|stored| stored.user.clone()))
    }

    async fn find_by_email(&self, normalised_email: &str) -> PortResult<Option<(User, String)>> {
        self.read(|s| {
            let stored = s.emails.get(normalised_email).and_then(|id| s.users.get(id))?;
            Some((stored.user.clone(), stored.password_hash.clone()))
        })
    }
}

#[async_trait]
impl WorkspaceRepo for MemoryStore {
    async fn get(&self, id: &WorkspaceId) -> PortResult<Option<Workspace>> {
        self.read(|s| s.workspaces.get(id).cloned())
    }

    async fn list_for_user(&self, user: &UserId) -> PortResult<Vec<(Workspace, Role)>> {
        self.read(|s| {
            memberships(s, s.memberships_of.get(user))
                .into_iter()
                .filter_map(|m| Some((s.workspaces.get(&m.workspace_id)?.clone(), m.role)))
                .collect()
        })
    }

    async fn member_count(&self, id: &WorkspaceId) -> PortResult<u32> {
        self.read(|s| s.members_of.get(id).map_or(0, |members| u32::try_from(members.len()).unwrap_or(u32::MAX)))
    }
}

#[async_trait]
impl MembershipRepo for MemoryStore {
    async fn get(&self, workspace: &WorkspaceId, user: &UserId) -> PortResult<Option<Membership>> {
        self.read(|s| s.memberships.get(&(workspace.clone(), user.clone())).cloned())
    }

    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Member>> {
        self.read(|s| {
            memberships(s, s.members_of.get(workspace))
                .into_iter()
                .filter_map(|m| {
                    let user = s.users.get(&m.user_id)?.user.clone();
                    Some(Member { membership: m.clone(), user })
                })
                .collect()
        })
    }
}

#[async_trait]
impl InviteRepo for MemoryStore {
    async fn get(&self, id: &InviteId) -> PortResult<Option<Invite>> {
        self.read(|s| s.invites.get(id).cloned())
    }

    async fn find_by_code(&self, code: &SecretHash) -> PortResult<Option<Invite>> {
        self.read(|s| s.invite_codes.get(code).and_then(|id| s.invites.get(id)).cloned())
    }

    async fn list_pending(&self, workspace: &WorkspaceId, now: Timestamp) -> PortResult<Vec<Invite>> {
        self.read(|s| {
            let mut pending: Vec<Invite> = s
                .invites_of
                .get(workspace)
                .into_iter()
                .flatten()
                .map(|&at| s.invites.at(at))
                .filter(|i| i.status == InviteStatus::Pending && i.expires_at.is_after(now))
                .cloned()
                .collect();
            pending.sort_by_key(|i| i.created_at);
            pending
        })
    }
}

#[async_trait]
impl TokenRepo for MemoryStore {
    async fn find_credential(&self, hash: &SecretHash) -> PortResult<Option<Credential>> {
        self.read(|s| credential(s, hash))
    }

    async fn find_credential_with_workspace(&self, hash: &SecretHash) -> PortResult<Option<CredentialWithWorkspace>> {
        self.read(|s| {
            let credential = credential(s, hash)?;
            let workspace = with_member_count(s, &credential.token.workspace_id);
            Some((credential, workspace))
        })
    }
}

fn credential(s: &State, hash: &SecretHash) -> Option<Credential> {
    let token = s.token_hashes.get(hash).and_then(|id| s.tokens.get(id))?;
    let user = s.users.get(&token.user_id)?.user.clone();
    let membership = s.memberships.get(&(token.workspace_id.clone(), token.user_id.clone())).cloned();
    Some(Credential { token: token.clone(), user, membership })
}

fn with_member_count(s: &State, id: &WorkspaceId) -> Option<(Workspace, u32)> {
    let count = s.members_of.get(id).map_or(0, |members| u32::try_from(members.len()).unwrap_or(u32::MAX));
    s.workspaces.get(id).map(|w| (w.clone(), count))
}

#[async_trait]
impl DeviceRepo for MemoryStore {
    async fn find_by_device_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>> {
        self.read(|s| s.device_codes.get(hash).and_then(|id| s.devices.get(id)).cloned())
    }

    async fn find_by_user_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>> {
        self.read(|s| s.user_codes.get(hash).and_then(|id| s.devices.get(id)).cloned())
    }
}

#[async_trait]
impl AuditRepo for MemoryStore {
    async fn list(&self, workspace: &WorkspaceId, limit: u32) -> PortResult<Vec<AuditEntry>> {
        self.read(|s| {
            let mut entries: Vec<&AuditEntry> =
                s.audit_of.get(workspace).into_iter().flatten().rev().map(|&at| s.audit.at(at)).collect();
            entries.sort_by_key(|e| Reverse(e.created_at));
            entries.into_iter().take(limit as usize).cloned().collect()
        })
    }
}

#[async_trait]
impl UnitOfWork for MemoryStore {
    async fn commit(&self, batch: Batch) -> PortResult<()> {
        self.write(|s| commit::commit(s, batch))
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(&self, key: &str, window_ms: i64, now: Timestamp) -> PortResult<WindowCount> {
        self.write(|s| {
            let fresh = WindowCount { count: 0, reset_at: Timestamp(now.millis().saturating_add(window_ms)) };
            let window = s.windows.entry(key.to_string()).or_insert(fresh);
            if !window.reset_at.is_after(now) {
                *window = fresh;
            }
            window.count = window.count.saturating_add(1);
            Ok(*window)
        })
    }
}

#[async_trait]
impl Housekeeping for MemoryStore {
    async fn purge_expired(&self, now: Timestamp) -> PortResult<Purged> {
        self.write(|s| Ok(s.purge_expired(now)))
    }
}
