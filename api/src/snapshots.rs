//! Request and response bodies of snapshots (archives of a session's persisted paths).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSnapshotRequest {
    /// Defaults to `manual`.
    #[serde(default)]
    pub label: Option<String>,
}

/// A snapshot. `objectKey`, `uploadedAt`, `contentType` and `sha256` are null (and `bytes` 0)
/// until its content was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDto {
    pub id: String,
    pub session_id: String,
    pub workspace_id: String,
    pub label: String,
    /// `manual` or `automatic`.
    pub kind: String,
    pub object_key: Option<String>,
    pub uploaded_at: Option<String>,
    pub content_type: Option<String>,
    pub bytes: u64,
    /// `sha256:<hex>` of the content.
    pub sha256: Option<String>,
    /// True for the session's latest good snapshot (the one a start restores).
    pub latest: bool,
    pub created_by_user_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotResponse {
    pub snapshot: SnapshotDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotsResponse {
    /// Oldest first.
    pub snapshots: Vec<SnapshotDto>,
    pub latest_snapshot_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSnapshotResponse {
    pub ok: bool,
    pub snapshot_id: String,
}

/// `PUT /api/uploads/{grant}` for a snapshot grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotUploadResponse {
    /// Always `snapshot`.
    pub target: String,
    pub snapshot: SnapshotDto,
}

/// The optional header carrying the SHA-256 the uploaded body must have (`sha256:<hex>` or
/// `<hex>`); a body with another digest is refused and nothing is stored.
pub const CONTENT_SHA256_HEADER: &str = "x-burstflare-content-sha256";
