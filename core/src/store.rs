//! The unit of work: every use case reads, decides, then commits all of its writes as one
//! [`Batch`]. Writes that change an existing row carry the row version they read; if any guarded
//! row changed meanwhile (or a uniqueness rule is hit) the whole batch is refused with
//! `PortError::Conflict` and nothing is written. This is what D1's atomic batches, one SQLite
//! transaction and one in-memory lock all offer alike.

use crate::ids::{DeviceId, FamilyId, GrantId, InviteId, TemplateId, TokenId, UserId, WorkspaceId};
use crate::model::{
    AuditEntry, Build, DeviceAuthorization, Invite, Membership, Release, Template, TemplateVersion, Token, UploadGrant,
    UsageEvent, User, Workspace,
};
use crate::time::Timestamp;
use crate::values::{Plan, Role};

/// One write. Variants with `expected_version` are guarded; the others are inserts (guarded by
/// uniqueness) or idempotent revocations.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Fails with `Conflict` when the normalised email is taken.
    CreateUser {
        user: User,
        password_hash: String,
    },
    CreateWorkspace(Workspace),
    /// Fails with `Conflict` when the membership exists.
    CreateMembership(Membership),
    SetMemberRole {
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: Role,
        expected_version: i64,
    },
    SetWorkspacePlan {
        workspace_id: WorkspaceId,
        plan: Plan,
        expected_version: i64,
    },
    CreateInvite(Invite),
    AcceptInvite {
        invite_id: InviteId,
        user_id: UserId,
        at: Timestamp,
        expected_version: i64,
    },
    CreateToken(Token),
    /// Marks a refresh token as exchanged; guarded, so one refresh token rotates once.
    UseRefreshToken {
        token_id: TokenId,
        at: Timestamp,
        expected_version: i64,
    },
    /// Revokes one token if not yet revoked (never conflicts).
    RevokeToken {
        token_id: TokenId,
        at: Timestamp,
    },
    /// Revokes every not-yet-revoked token of a family (never conflicts).
    RevokeFamily {
        family_id: FamilyId,
        at: Timestamp,
    },
    CreateDevice(DeviceAuthorization),
    /// Approves (`approved`) or denies a pending device code; guarded.
    DecideDevice {
        device_id: DeviceId,
        approved: bool,
        user_id: UserId,
        workspace_id: WorkspaceId,
        at: Timestamp,
        expected_version: i64,
    },
    ExchangeDevice {
        device_id: DeviceId,
        expected_version: i64,
    },
    Audit(AuditEntry),
    /// Fails with `Conflict` when the workspace already has a template of that name (any case).
    CreateTemplate(Template),
    /// Replaces the template's mutable fields (description, active version, archive flags).
    UpdateTemplate {
        template: Template,
        expected_version: i64,
    },
    /// Removes the template with its versions, builds, releases and upload grants.
    DeleteTemplate {
        template_id: TemplateId,
        expected_version: i64,
    },
    /// Fails with `Conflict` when the template already has a version with that label.
    CreateVersion(TemplateVersion),
    /// Replaces the version's mutable fields (status, bundle, built time).
    UpdateVersion {
        version: TemplateVersion,
        expected_version: i64,
    },
    CreateBuild(Build),
    /// Replaces the build's mutable fields (status, attempts, error, artifact, times).
    UpdateBuild {
        build: Build,
        expected_version: i64,
    },
    CreateRelease(Release),
    CreateGrant(UploadGrant),
    /// Marks a grant used; guarded, so a grant is used once.
    UseGrant {
        grant_id: GrantId,
        at: Timestamp,
        expected_version: i64,
    },
    Usage(UsageEvent),
    /// A quota checked with the writes: fails with `Conflict` when, as the writes before it in the
    /// batch left the store, more than `max` rows are counted. Put it after the insert it limits.
    AtMost {
        counted: Counted,
        max: u64,
    },
}

/// What an [`Write::AtMost`] guard counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    /// Templates of the workspace (archived included).
    Templates(WorkspaceId),
}

/// The writes of one use case, committed all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub writes: Vec<Write>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, write: Write) -> &mut Self {
        self.writes.push(write);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}
