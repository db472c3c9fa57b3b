//! Templates and what hangs off them: versions (a manifest plus an uploaded bundle), the one build
//! of each version with its state machine, releases (promotion history), one-time upload grants,
//! and usage events.

use crate::ids::{
    BuildId, GrantId, ReleaseId, SessionId, SnapshotId, TemplateId, UsageId, UserId, VersionId, WorkspaceId,
};
use crate::manifest::Manifest;
use crate::secret::SecretHash;
use crate::time::Timestamp;
use crate::values::TemplateName;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: TemplateName,
    pub description: String,
    pub active_version_id: Option<VersionId>,
    pub archived_at: Option<Timestamp>,
    pub archived_by_user_id: Option<UserId>,
    pub created_by_user_id: UserId,
    pub created_at: Timestamp,
    pub version: i64,
}

/// Where a version stands: waiting for its build, or its build's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Queued,
    Building,
    Ready,
    Failed,
}

/// The uploaded bundle of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    pub key: String,
    pub content_type: String,
    pub bytes: u64,
    pub uploaded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersion {
    pub id: VersionId,
    pub template_id: TemplateId,
    pub workspace_id: WorkspaceId,
    /// The version string (`1.0.0`), unique within the template.
    pub label: String,
    pub notes: String,
    pub manifest: Manifest,
    pub status: VersionStatus,
    pub bundle: Option<BundleInfo>,
    pub created_by_user_id: UserId,
    pub created_at: Timestamp,
    pub built_at: Option<Timestamp>,
    pub version: i64,
}

/// The build state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    /// Waiting for a runner (or for its bundle).
    Queued,
    Building,
    /// A transient fault happened; another attempt is scheduled.
    Retrying,
    Succeeded,
    /// The bundle is invalid; retrying will not help until it changes.
    Failed,
    /// Transient faults used up every attempt.
    DeadLettered,
}

impl BuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Queued => "queued",
            BuildStatus::Building => "building",
            BuildStatus::Retrying => "retrying",
            BuildStatus::Succeeded => "succeeded",
            BuildStatus::Failed => "failed",
            BuildStatus::DeadLettered => "dead_lettered",
        }
    }
    /// A runner may pick the build up.
    pub fn is_runnable(self) -> bool {
        matches!(self, BuildStatus::Queued | BuildStatus::Retrying)
    }
    /// A person may ask for another try.
    pub fn is_retryable(self) -> bool {
        matches!(self, BuildStatus::Failed | BuildStatus::DeadLettered)
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, BuildStatus::Succeeded | BuildStatus::Failed | BuildStatus::DeadLettered)
    }
}

/// What a successful build recorded about the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub digest: String,
    pub file_count: u64,
    pub unpacked_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: BuildId,
    pub version_id: VersionId,
    pub template_id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub status: BuildStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub artifact: Option<Artifact>,
    pub log_key: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub dead_lettered_at: Option<Timestamp>,
    pub version: i64,
}

/// One promotion of a version to active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: ReleaseId,
    pub workspace_id: WorkspaceId,
    pub template_id: TemplateId,
    pub version_id: VersionId,
    pub created_by_user_id: UserId,
    pub created_at: Timestamp,
}

/// What an upload grant lets its holder upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// The bundle of one template version.
    Bundle { template_id: TemplateId, version_id: VersionId },
    /// The content of one snapshot of a session.
    Snapshot { session_id: SessionId, snapshot_id: SnapshotId },
}

impl GrantTarget {
    /// The template the target belongs to (its grants go when the template goes).
    pub fn template_id(&self) -> Option<&TemplateId> {
        match self {
            GrantTarget::Bundle { template_id, .. } => Some(template_id),
            GrantTarget::Snapshot { .. } => None,
        }
    }
    /// The snapshot the target is (its grants go when the snapshot or its session goes).
    pub fn snapshot_id(&self) -> Option<&SnapshotId> {
        match self {
            GrantTarget::Snapshot { snapshot_id, .. } => Some(snapshot_id),
            GrantTarget::Bundle { .. } => None,
        }
    }
}

/// Permission to upload one object, once, before it expires: bound to a target, a content type
/// and an exact size (or, for automatic snapshots whose archive is streamed as it is made, any
/// size up to the snapshot limit). The secret in the upload URL is stored only as its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadGrant {
    pub id: GrantId,
    pub secret_hash: SecretHash,
    pub workspace_id: WorkspaceId,
    pub target: GrantTarget,
    pub content_type: String,
    /// The exact size the body must have; `None`: any size up to the target's limit.
    pub bytes: Option<u64>,
    /// Who asked for it; `None` for the runtime's automatic snapshots.
    pub created_by_user_id: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub version: i64,
}

/// A metered event (a successful build, later runtime seconds and storage).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    pub id: UsageId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub value: i64,
    pub details: serde_json::Value,
    pub created_at: Timestamp,
}
