//! Persisted paths: saved from the runtime into a snapshot when a session stops, sleeps or
//! restarts (and when a member asks), restored from the latest good snapshot when it starts (or
//! from a chosen snapshot into a running session). A save streams the runtime's archive through a
//! one-time grant into the blob store, the size limit enforced and the digest computed as it
//! streams; the session's latest pointer moves only in the batch that records a complete upload,
//! so a failed save leaves the previous latest, and the session keeps the reason (its state
//! detail and an event). Storage and runtime outages are retried a few times with a short backoff,
//! all within the save's deadline (`Config::save_timeout_seconds`), past which it fails the same way.

use super::persist_deadline::SaveDeadline;
use super::snapshot_uploads::{GrantUpload, ARCHIVE_CONTENT_TYPE};
use super::{Actor, Service};
use crate::blob::{ByteStream, VerifiedBody};
use crate::error::{Code, Error, ErrorKind, PortError, Result};
use crate::ids::{SessionId, SnapshotId};
use crate::machines::sessions::SessionCommand;
use crate::model::{Session, Snapshot, SnapshotKind};
use crate::ports::{PortResult, RuntimeDriver};
use crate::secret::Secret;
use crate::store::Batch;
use crate::values::{Role, SessionState};
use async_trait::async_trait;
use serde_json::json;

/// Tries of one save when storage or the runtime cannot be reached.
pub const SAVE_ATTEMPTS: u32 = 3;
/// The pause before the second try; it doubles before each next one.
const SAVE_BACKOFF_MILLIS: u64 = 250;

fn not_running() -> Error {
    Error::new(Code::SessionNotRunning, "The session is not running; start it first")
}

/// The runtime's archive as an upload body: its failures are the body's (the reason kept), and
/// it breaks off once the save's deadline passed.
struct RuntimeArchive<'a> {
    archive: Box<dyn ByteStream>,
    deadline: SaveDeadline<'a>,
}

#[async_trait]
impl ByteStream for RuntimeArchive<'_> {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        if self.deadline.passed() {
            return Err(PortError::BodyRead(self.deadline.reason()));
        }
        self.archive
            .next_chunk()
            .await
            .map_err(|e| PortError::BodyRead(format!("the runtime's archive broke off: {e}")))
    }
}

/// Why a save failed, for the session's detail and event: the runtime's reason when the archive
/// broke off, else the error's own message (never an adapter's).
fn save_reason(e: &Error) -> String {
    match e.cause() {
        Some(PortError::BodyRead(reason)) => reason.clone(),
        _ => e.message.clone(),
    }
}

impl Service {
    /// Whether the session's template version names persisted paths and the runtime keeps them.
    pub(crate) async fn persists(&self, session: &Session) -> Result<bool> {
        if !self.runtime_keeps_paths() {
            return Ok(false);
        }
        let version = self.ports.templates.get_version(&session.template_id, &session.version_id).await?;
        Ok(version.is_some_and(|v| !v.manifest.persisted_paths.is_empty()))
    }

    fn runtime_keeps_paths(&self) -> bool {
        self.ports.runtime.as_ref().is_some_and(|r| r.keeps_persisted_paths())
    }

    /// Saves a `stopping` session's persisted paths before its runtime goes down. A failed save
    /// does not hold the stop: it is recorded on the session, which is returned with its new
    /// row version.
    pub(crate) async fn save_before_stop(&self, stopping: Session) -> Result<Session> {
        if !self.persists(&stopping).await? {
            return Ok(stopping);
        }
        let Err(e) = self.save_from_runtime(&stopping, "automatic".into(), SnapshotKind::Automatic, None).await else {
            return Ok(stopping);
        };
        match self.system_transition(&stopping, SessionCommand::SaveFailed(save_reason(&e))).await {
            // Deleted while it saved: the delete won (and stopped the runtime).
            Err(lost) if lost.code == Code::SessionChanged => {
                let now = self.ports.sessions.get(&stopping.workspace_id, &stopping.id).await?;
                match now {
                    None => Err(super::sessions::session_not_found()),
                    Some(s) if s.state == SessionState::Deleted => {
                        Err(Error::new(Code::SessionDeleted, "Session deleted while it was saving"))
                    }
                    Some(_) => Err(lost),
                }
            }
            other => other,
        }
    }

    /// Saves a running session's persisted paths now, as a manual snapshot that becomes its
    /// latest. A failed save leaves the previous latest, and the session says why.
    pub async fn save_snapshot(&self, actor: &Actor, id: &SessionId, label: Option<&str>) -> Result<Snapshot> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        self.runtime()?;
        let label = super::snapshots::parse_label(label, "manual")?;
        if session.state != SessionState::Running {
            return Err(not_running());
        }
        if !self.persists(&session).await? {
            return Err(Error::new(
                Code::SaveFailed,
                "Nothing to save: the template has no persisted paths, or this runtime does not keep them",
            ));
        }
        match self.save_from_runtime(&session, label, SnapshotKind::Manual, Some(actor)).await {
            Ok(snapshot) => Ok(snapshot),
            Err(e) => {
                let reason = save_reason(&e);
                let _ = self.system_transition(&session, SessionCommand::SaveFailed(reason.clone())).await;
                let message = format!("The save failed ({reason}); the previous latest snapshot stays");
                Err(match e.cause().cloned() {
                    Some(cause) => Error::new(Code::SaveFailed, message).with_source(cause),
                    None => Error::new(Code::SaveFailed, message),
                })
            }
        }
    }

    /// Records a snapshot with a grant, then streams the runtime's archive through it, retrying
    /// outages (the record and grant are reused; the grant is spent only by a complete upload).
    async fn save_from_runtime(
        &self,
        session: &Session,
        label: String,
        kind: SnapshotKind,
        actor: Option<&Actor>,
    ) -> Result<Snapshot> {
        let runtime = self.runtime()?;
        let deadline = SaveDeadline::new(self.ports.clock.as_ref(), self.config.save_timeout_seconds);
        let save = async {
            let (_, secret) = self.begin_runtime_snapshot(session, label, kind, actor).await?;
            let mut attempt = 1;
            loop {
                match self.save_once(runtime.as_ref(), session, &secret, deadline).await {
                    Err(e) if attempt < SAVE_ATTEMPTS && e.kind() == ErrorKind::Unavailable && !deadline.passed() => {
                        self.ports.clock.pause(SAVE_BACKOFF_MILLIS << (attempt - 1)).await;
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        };
        deadline.run(save).await
    }

    async fn save_once(
        &self,
        runtime: &dyn RuntimeDriver,
        session: &Session,
        secret: &Secret,
        deadline: SaveDeadline<'_>,
    ) -> Result<Snapshot> {
        let archive = runtime.save(&session.id).await.map_err(|e| match e {
            PortError::Unavailable(_) => {
                Error::new(Code::AgentUnreachable, "The session's runtime could not be reached").with_source(e)
            }
            other => Error::new(Code::SaveFailed, format!("the runtime could not save: {other}")),
        })?;
        let mut archive = RuntimeArchive { archive, deadline };
        match self.upload_through_grant(secret.expose(), ARCHIVE_CONTENT_TYPE, None, &mut archive).await? {
            GrantUpload::Snapshot(snapshot) => Ok(snapshot),
            GrantUpload::Bundle { .. } => Err(Error::internal("a snapshot grant stored a bundle")),
        }
    }

    /// Restores the latest good snapshot into a session whose runtime just booted (when its
    /// template persists paths and it has one).
    /// `manifest` is the session's version's, which the start already read.
    pub(crate) async fn restore_latest(
        &self,
        session: &Session,
        manifest: &crate::manifest::Manifest,
        runtime: &dyn RuntimeDriver,
    ) -> Result<()> {
        if manifest.persisted_paths.is_empty() || !self.runtime_keeps_paths() {
            return Ok(());
        }
        let Some(snapshot) = self.latest_snapshot(session).await? else { return Ok(()) };
        self.restore_into(session, &snapshot, runtime).await
    }

    /// Restores one of the session's snapshots into it while it runs.
    pub async fn restore_snapshot(&self, actor: &Actor, id: &SessionId, snapshot: &SnapshotId) -> Result<Snapshot> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        let runtime = self.runtime()?;
        let snapshot = self.snapshot_of(&session, snapshot).await?;
        if session.state != SessionState::Running {
            return Err(not_running());
        }
        if !self.persists(&session).await? {
            return Err(Error::new(
                Code::RestoreFailed,
                "Nothing to restore into: the template has no persisted paths, or this runtime does not keep them",
            ));
        }
        self.restore_into(&session, &snapshot, runtime.as_ref()).await?;
        let mut batch = Batch::new();
        batch.push(self.audit(
            "snapshot.restored",
            Some(&actor.user.id),
            Some(&session.workspace_id),
            ("snapshot", snapshot.id.as_str()),
            json!({ "sessionId": session.id.as_str() }),
        ));
        self.commit(batch).await?;
        Ok(snapshot)
    }

    /// Streams the snapshot's content from storage into the runtime, its digest checked as it
    /// streams (a mismatch ends the stream with an error, so the runtime changes nothing).
    async fn restore_into(&self, session: &Session, snapshot: &Snapshot, runtime: &dyn RuntimeDriver) -> Result<()> {
        let failed =
            |why: String| Error::new(Code::RestoreFailed, format!("Snapshot {} was not restored: {why}", snapshot.id));
        let missing = || Error::new(Code::SnapshotContentNotFound, "Snapshot content not uploaded");
        let content = snapshot.content.as_ref().ok_or_else(missing)?;
        let blob = self.ports.blobs.get(&content.key).await?;
        let mut blob = blob.ok_or_else(|| failed("its content is missing from storage".into()))?;
        let mut verified = VerifiedBody::new(blob.body.as_mut(), &content.sha256);
        runtime.restore(&session.id, &mut verified).await.map_err(|e| match e {
            PortError::Unavailable(_) => {
                Error::new(Code::AgentUnreachable, "The session's runtime could not be reached").with_source(e)
            }
            other => failed(other.to_string()),
        })
    }
}
