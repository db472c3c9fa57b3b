//! Snapshots: archives of a session's persisted paths, kept in the blob store. A snapshot record
//! is created first (no content); its content arrives by a streamed upload under a fresh object
//! key, and the session's "latest good" pointer moves to it in the same batch that records it.

use crate::ids::{SessionId, SnapshotId, UserId, WorkspaceId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who asked for the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// A person (API or CLI).
    Manual,
    /// The runtime, when the session stopped, slept or restarted.
    Automatic,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Manual => "manual",
            SnapshotKind::Automatic => "automatic",
        }
    }
    /// Stored kinds are trusted; anything unknown reads as manual.
    pub fn from_stored(raw: &str) -> Self {
        if raw == "automatic" {
            SnapshotKind::Automatic
        } else {
            SnapshotKind::Manual
        }
    }
}

/// The uploaded content of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotContent {
    /// The object's key in the blob store (fresh for every upload).
    pub key: String,
    pub content_type: String,
    pub bytes: u64,
    /// `sha256:<64 hex digits>` of the stored bytes, computed while they streamed in.
    pub sha256: String,
    pub uploaded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub session_id: SessionId,
    pub workspace_id: WorkspaceId,
    pub label: String,
    pub kind: SnapshotKind,
    /// `None` until an upload completed.
    pub content: Option<SnapshotContent>,
    /// The person who asked for it (`None` for automatic snapshots).
    pub created_by_user_id: Option<UserId>,
    pub created_at: Timestamp,
    pub version: i64,
}

impl Snapshot {
    /// The bytes it holds in storage (0 before its upload).
    pub fn stored_bytes(&self) -> u64 {
        self.content.as_ref().map_or(0, |c| c.bytes)
    }
}

/// A snapshot that never received its content, with the last expiry of its upload grants (if it
/// has any): reconcile removes it once both its creation and its grants are old enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedSnapshot {
    pub snapshot: Snapshot,
    pub last_grant_expiry: Option<Timestamp>,
}
