//! Request and response bodies of sessions, their events, and usage.

use crate::{LimitsDto, SnapshotDto};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionRequest {
    pub name: String,
    pub template_id: String,
}

/// `POST …/start?wait=false` answers 202 with the session `starting` instead of waiting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    #[serde(default)]
    pub wait: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    pub id: String,
    pub workspace_id: String,
    pub template_id: String,
    pub template_version_id: String,
    /// The template's name (`unknown` once it is gone).
    pub template_name: String,
    pub name: String,
    /// `created`, `starting`, `running`, `stopping`, `sleeping`, `failed` or `deleted`.
    pub state: String,
    /// Why the session failed, when it did.
    pub state_detail: Option<String>,
    pub created_by_user_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_started_at: Option<String>,
    pub last_stopped_at: Option<String>,
    pub last_active_at: Option<String>,
    pub sleep_ttl_seconds: Option<u32>,
    pub idle_timeout_seconds: Option<u32>,
    pub preview_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEventDto {
    pub id: String,
    pub session_id: String,
    pub state: String,
    pub details: serde_json::Value,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub session: SessionDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetailResponse {
    pub session: SessionDto,
    pub events: Vec<SessionEventDto>,
    /// Snapshots of the session, oldest first.
    pub snapshots: Vec<SnapshotDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEventsResponse {
    pub events: Vec<SessionEventDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageDto {
    /// Seconds sessions ran (from `running` to stopped, failed or deleted).
    pub runtime_seconds: i64,
    /// Successful template builds.
    pub template_builds: i64,
    /// Bytes of snapshot content uploaded.
    #[serde(default)]
    pub snapshot_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageResponse {
    pub usage: UsageDto,
    pub limits: LimitsDto,
    pub plan: String,
}

/// A runtime token: opens one running session's runtime routes for a few minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeTokenResponse {
    pub token: String,
    pub session_id: String,
    pub expires_at: String,
}

/// `GET /api/sessions/{id}/ssh`: how to reach the session with `ssh`, its host key pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshInfoResponse {
    pub session_id: String,
    /// `ssh-ed25519 AAAA…`: the same for the session's whole life.
    pub host_key: String,
    /// The name the key is pinned under in `known_hosts` (`HostKeyAlias`).
    pub host_key_alias: String,
    /// The WebSocket path that carries the SSH stream.
    pub path: String,
}

/// `POST /api/sessions/{id}/preview`: a link that opens the preview in a browser (valid for a
/// short while; the preview's origin then keeps its own cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResponse {
    pub url: String,
    pub expires_at: String,
}

/// `GET /api/sessions/{id}/logs?tail=N`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsQuery {
    pub tail: Option<usize>,
}

/// `POST /api/admin/reconcile`: what the workspace's reconcile pass did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileResponse {
    pub slept_sessions: u64,
    pub failed_sessions: u64,
    pub recovered_sessions: u64,
    pub purged_deleted_sessions: u64,
    pub purged_stale_sleeping_sessions: u64,
    /// Snapshots of purged sessions, records whose content never arrived, objects with no record.
    #[serde(default)]
    pub purged_snapshots: u64,
}

/// `GET /api/admin/report`: counters over the current workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDto {
    pub workspace: crate::WorkspaceDto,
    pub members: u64,
    pub templates: u64,
    pub templates_archived: u64,
    pub builds_queued: u64,
    pub builds_failed: u64,
    pub builds_dead_lettered: u64,
    pub sessions_running: u64,
    pub sessions_sleeping: u64,
    pub sessions_failed: u64,
    pub sessions_stale_eligible: u64,
    pub sessions_total: u64,
    pub releases: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResponse {
    pub report: ReportDto,
}
