//! Entities as stored and as returned by the API (camelCase on the wire). Records that carry a
//! `version` are updated only through guarded writes (see [`crate::store`]).

use crate::ids::{AuditId, DeviceId, FamilyId, InviteId, SessionId, TokenId, UserId, WorkspaceId};
use crate::secret::SecretHash;
use crate::time::Timestamp;
use crate::values::{ClientKind, DeviceStatus, DisplayName, Email, InviteStatus, Plan, PlanLimits, Role, TokenKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: DisplayName,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub owner_user_id: UserId,
    pub plan: Plan,
    pub created_at: Timestamp,
    pub version: i64,
}

/// A workspace as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceView {
    pub workspace: Workspace,
    pub role: Role,
    pub member_count: u32,
    pub limits: PlanLimits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: Timestamp,
    pub version: i64,
}

/// A membership together with the member's account, for member lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub membership: Membership,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: InviteId,
    pub code_hash: SecretHash,
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub role: Role,
    pub status: InviteStatus,
    pub created_by_user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_by_user_id: Option<UserId>,
    pub version: i64,
}

/// A stored credential. The secret itself is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub hash: SecretHash,
    pub kind: TokenKind,
    pub client: ClientKind,
    pub family_id: FamilyId,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// For refresh tokens: when it was exchanged for a new pair (a second use is reuse).
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// For runtime tokens: the one session they open.
    pub session_id: Option<SessionId>,
    pub version: i64,
}

impl Token {
    /// The refresh token as exchanged at `at` (a second use is reuse).
    pub fn used(&self, at: Timestamp) -> Token {
        Token { used_at: Some(at), version: self.version + 1, ..self.clone() }
    }

    /// Not revoked and not expired.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_after(now)
    }
}

/// What one access-token lookup resolves to: the token, its user, and the user's membership in the
/// token's workspace (absent if it was removed since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub token: Token,
    pub user: User,
    pub membership: Option<Membership>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub id: DeviceId,
    pub device_code_hash: SecretHash,
    pub user_code_hash: SecretHash,
    pub status: DeviceStatus,
    /// Set on approval: whose tokens the exchange issues, and for which workspace.
    pub user_id: Option<UserId>,
    pub workspace_id: Option<WorkspaceId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub action: String,
    pub actor_user_id: Option<UserId>,
    pub workspace_id: Option<WorkspaceId>,
    pub target_type: String,
    pub target_id: String,
    pub details: serde_json::Value,
    pub created_at: Timestamp,
}

mod templates;
pub use templates::*;

mod sessions;
pub use sessions::*;

mod snapshots;
pub use snapshots::*;
