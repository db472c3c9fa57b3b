//! Sessions (developer environments) and their event history.

use crate::ids::{SessionEventId, SessionId, TemplateId, UserId, VersionId, WorkspaceId};
use crate::time::Timestamp;
use crate::values::{SessionName, SessionState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub workspace_id: WorkspaceId,
    pub template_id: TemplateId,
    /// The template version it was created from (the promoted one at the time).
    pub version_id: VersionId,
    pub name: SessionName,
    pub state: SessionState,
    /// Why the session is `failed` (or what the last transition noted); `None` otherwise.
    pub state_detail: Option<String>,
    pub created_by_user_id: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_started_at: Option<Timestamp>,
    pub last_stopped_at: Option<Timestamp>,
    /// The last real use (terminal, SSH, preview), written at most every 30 s.
    pub last_active_at: Option<Timestamp>,
    /// From the version's manifest: how long a sleeping session is kept.
    pub sleep_ttl_seconds: Option<u32>,
    /// From the version's manifest: how long a running session may sit idle before it sleeps.
    pub idle_timeout_seconds: Option<u32>,
    pub version: i64,
}

impl Session {
    /// Not deleted: it counts for name uniqueness and appears in lists.
    pub fn is_live(&self) -> bool {
        self.state != SessionState::Deleted
    }
}

/// One transition of a session, as its history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    pub id: SessionEventId,
    pub session_id: SessionId,
    pub workspace_id: WorkspaceId,
    pub state: SessionState,
    pub details: serde_json::Value,
    pub created_at: Timestamp,
}
