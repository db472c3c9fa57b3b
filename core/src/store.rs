//! The unit of work: every use case reads, decides, then commits all of its writes as one
//! [`Batch`]. Writes that change an existing row carry the whole row as core decided it (its new
//! status, timestamps and row version included) and the row version they read; if any guarded
//! row changed meanwhile (or a uniqueness rule is hit) the whole batch is refused with
//! `PortError::Conflict` and nothing is written. Adapters store the given row's mutable fields and
//! version as they are: they never decide a status or compute a version. The one exception is the
//! idempotent revocations, which touch rows core did not read and move their version on so that a
//! racing guarded write on them loses. This is what D1's atomic batches, one SQLite transaction
//! and one in-memory lock all offer alike.

use crate::ids::{FamilyId, SessionId, SnapshotId, TemplateId, TokenId, UserId, WorkspaceId};
use crate::model::{
    AuditEntry, Build, DeviceAuthorization, Invite, Membership, Release, Session, SessionEvent, Snapshot, Template,
    TemplateVersion, Token, UploadGrant, UsageEvent, User, Workspace,
};
use crate::ports::QueuedJob;
use crate::time::Timestamp;

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
    /// Stores the membership's role and version.
    UpdateMembership {
        membership: Membership,
        expected_version: i64,
    },
    /// Removes the membership; guarded, so a removal and a racing role change (or a second
    /// removal) have one winner.
    DeleteMembership {
        workspace_id: WorkspaceId,
        user_id: UserId,
        expected_version: i64,
    },
    /// Revokes every not-yet-revoked token (access, refresh, runtime) of the user that is bound to
    /// the workspace, including those created earlier in the batch (never conflicts).
    RevokeMemberTokens {
        workspace_id: WorkspaceId,
        user_id: UserId,
        at: Timestamp,
    },
    /// Stores the workspace's plan and version.
    UpdateWorkspace {
        workspace: Workspace,
        expected_version: i64,
    },
    CreateInvite(Invite),
    /// Stores the invite's status, acceptance and version (see [`crate::machines::invites`]).
    UpdateInvite {
        invite: Invite,
        expected_version: i64,
    },
    CreateToken(Token),
    /// Stores the token's use and version; guarded, so one refresh token rotates once.
    UpdateToken {
        token: Token,
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
    /// Stores the device code's status, decision and version (approval, denial, exchange).
    UpdateDevice {
        device: DeviceAuthorization,
        expected_version: i64,
    },
    Audit(AuditEntry),
    /// Fails with `Conflict` when the workspace already has a template of that name (any case).
    CreateTemplate(Template),
    /// Replaces the template's mutable fields (description, active version, archive flags) and version.
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
    /// Replaces the version's mutable fields (status, bundle, built time) and version.
    UpdateVersion {
        version: TemplateVersion,
        expected_version: i64,
    },
    CreateBuild(Build),
    /// Replaces the build's mutable fields (status, attempts, error, artifact, times) and version.
    UpdateBuild {
        build: Build,
        expected_version: i64,
    },
    CreateRelease(Release),
    CreateGrant(UploadGrant),
    /// Stores the grant's use and version; guarded, so a grant is used once.
    UpdateGrant {
        grant: UploadGrant,
        expected_version: i64,
    },
    Usage(UsageEvent),
    /// Fails with `Conflict` when a live (not deleted) session of the workspace has the same
    /// name, whatever the case.
    CreateSession(Session),
    /// Stores the session's state, detail, timestamps and version as given.
    UpdateSession {
        session: Session,
        expected_version: i64,
    },
    /// Appends to a session's history.
    AppendSessionEvent(SessionEvent),
    /// Records use of the session: moves `last_active_at` forward to `at` (never back). Not
    /// guarded and not a version change, so activity never makes a lifecycle request lose its race;
    /// a session that is gone is left alone.
    TouchSession {
        session_id: SessionId,
        at: crate::time::Timestamp,
    },
    /// Removes the session with its events, its snapshots' records and their upload grants;
    /// guarded. (The snapshots' objects are the use case's to delete once the batch committed.)
    PurgeSession {
        session_id: SessionId,
        expected_version: i64,
    },
    /// Fails with `Conflict` when the session does not exist (or the id is taken).
    CreateSnapshot(Snapshot),
    /// Stores the snapshot's content and version as given; guarded.
    UpdateSnapshot {
        snapshot: Snapshot,
        expected_version: i64,
    },
    /// Removes the snapshot with its upload grants; guarded. A session whose latest it was keeps
    /// pointing at nothing unless the batch also moves its pointer.
    DeleteSnapshot {
        snapshot_id: SnapshotId,
        expected_version: i64,
    },
    /// Points the session's "latest good snapshot" at `snapshot_id`. Guarded by the snapshot, not
    /// by the session's version (so a save never makes a lifecycle transition lose its race):
    /// fails with `Conflict` unless the snapshot, as the batch so far left it, belongs to the
    /// session and has its content.
    MarkLatestSnapshot {
        session_id: SessionId,
        snapshot_id: SnapshotId,
    },
    /// Moves the session's pointer from `from` to `to` (`None`: no latest) if, and only if, it
    /// still points at `from`, and `to` (if any) is a snapshot of the session with content;
    /// otherwise does nothing (never conflicts). Used when the latest snapshot is deleted.
    ReplaceLatestSnapshot {
        session_id: SessionId,
        from: SnapshotId,
        to: Option<SnapshotId>,
    },
    /// Queues a job if and only if the batch commits (the store's own job table, as an outbox).
    Enqueue(QueuedJob),
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
    /// Sessions of the workspace whose runtime holds a slot (`starting`, `running`, `stopping`).
    ActiveSessions(WorkspaceId),
    /// The bytes of the uploaded content of every snapshot of the workspace.
    SnapshotBytes(WorkspaceId),
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
    /// Removes the batch's jobs and returns them, in order (for queues that are not the store's).
    pub fn take_jobs(&mut self) -> Vec<QueuedJob> {
        let mut jobs = Vec::new();
        self.writes.retain(|write| match write {
            Write::Enqueue(job) => {
                jobs.push(job.clone());
                false
            }
            _ => true,
        });
        jobs
    }
}
