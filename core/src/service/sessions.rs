//! Sessions: create from a template's promoted version, list, show with events, and the lifecycle
//! — start, stop, restart, delete — each step one transition of the state machine committed as
//! one batch guarded by the session's row version (so of racing requests exactly one wins), with
//! the running-session quota counted in the same batch. The runtime driver is called between
//! transitions, never instead of them: `starting` is committed before the driver boots the
//! session, and its outcome (`running` or `failed`, with the reason) is committed after.

use super::{Actor, Service};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids::{SessionEventId, SessionId, TemplateId, UsageId, UserId};
use crate::machines::sessions::{self, SessionCommand};
use crate::model::{Session, SessionEvent, UsageEvent};
use crate::ports::{RuntimeDriver, RuntimeSpec};
use crate::store::{Batch, Counted, Write};
use crate::time::Timestamp;
use crate::values::{Plan, Role, SessionName, SessionState};
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) fn session_not_found() -> Error {
    Error::new(Code::SessionNotFound, "Session not found")
}

pub(crate) fn runtime_unavailable() -> Error {
    Error::new(Code::RuntimeUnavailable, "This server has no session runtime configured, so sessions cannot start here")
}

/// A session with what a list shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub session: Session,
    pub template_name: String,
}

impl Service {
    /// The session of the caller's workspace (whatever its state), or 404: other workspaces'
    /// sessions are invisible, so their ids do not leak.
    pub(crate) async fn session(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        self.ports.sessions.get(&actor.workspace_id, id).await?.ok_or_else(session_not_found)
    }

    /// The session with its template's name, as the API shows it.
    pub async fn view_of(&self, session: Session) -> Result<SessionView> {
        let template = self.ports.templates.get(&session.workspace_id, &session.template_id).await?;
        let template_name = template.map_or_else(|| "unknown".to_string(), |t| t.name.as_str().to_string());
        Ok(SessionView { session, template_name })
    }

    /// Creates a session from the template's promoted version, in state `created`.
    pub async fn create_session(&self, actor: &Actor, name: &str, template_id: &TemplateId) -> Result<SessionView> {
        actor.require(Role::Member)?;
        let name = SessionName::parse(name)?;
        let template = self.template(actor, template_id).await?;
        if template.archived_at.is_some() {
            return Err(Error::new(Code::TemplateArchived, "Template is archived: it starts no new sessions"));
        }
        let not_promoted = || Error::new(Code::TemplateNotPromoted, "Template has no promoted version");
        let version_id = template.active_version_id.clone().ok_or_else(not_promoted)?;
        let version = self.ports.templates.get_version(&template.id, &version_id).await?.ok_or_else(not_promoted)?;
        let taken = || Error::new(Code::SessionNameTaken, "A session with this name already exists");
        let live = self.ports.sessions.list(&actor.workspace_id).await?;
        if live.iter().any(|s| s.name.normalised() == name.normalised()) {
            return Err(taken());
        }
        let now = self.now();
        let session = Session {
            id: SessionId::from_uuid(self.ports.random.uuid()),
            workspace_id: actor.workspace_id.clone(),
            template_id: template.id.clone(),
            version_id,
            name,
            state: SessionState::Created,
            state_detail: None,
            created_by_user_id: actor.user.id.clone(),
            created_at: now,
            updated_at: now,
            last_started_at: None,
            last_stopped_at: None,
            last_active_at: None,
            sleep_ttl_seconds: version.manifest.sleep_ttl_seconds,
            idle_timeout_seconds: version.manifest.idle_timeout_seconds,
            version: 1,
        };
        let mut batch = Batch::new();
        batch.push(Write::CreateSession(session.clone())).push(self.session_event(&session, json!({}))).push(
            self.audit_session(
                &actor.user.id,
                "session.created",
                &session,
                json!({ "name": session.name.as_str(), "templateId": template.id.as_str() }),
            ),
        );
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => return Err(taken()),
            other => other?,
        }
        Ok(SessionView { session, template_name: template.name.as_str().to_string() })
    }

    /// Live sessions of the workspace, oldest first (the template names read once, not per session).
    pub async fn list_sessions(&self, actor: &Actor) -> Result<Vec<SessionView>> {
        let templates = self.ports.templates.list(&actor.workspace_id).await?;
        let name_of = |session: &Session| {
            let template = templates.iter().find(|t| t.id == session.template_id);
            template.map_or_else(|| "unknown".to_string(), |t| t.name.as_str().to_string())
        };
        let sessions = self.ports.sessions.list(&actor.workspace_id).await?;
        Ok(sessions.into_iter().map(|session| SessionView { template_name: name_of(&session), session }).collect())
    }

    /// A session with its history (deleted ones too, until reconcile purges them).
    pub async fn show_session(&self, actor: &Actor, id: &SessionId) -> Result<(SessionView, Vec<SessionEvent>)> {
        let session = self.session(actor, id).await?;
        let events = self.ports.sessions.events(&session.id).await?;
        Ok((self.view_of(session).await?, events))
    }

    pub async fn session_events(&self, actor: &Actor, id: &SessionId) -> Result<Vec<SessionEvent>> {
        let session = self.session(actor, id).await?;
        Ok(self.ports.sessions.events(&session.id).await?)
    }

    /// Commits `starting` (the quota counted in the same batch) and returns the session in that
    /// state; [`finish_start`](Self::finish_start) then boots it. A caller that does not wait runs
    /// the second half in the background.
    pub async fn begin_start(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        self.runtime()?;
        self.transition_to_starting(Some(&actor.user.id), session, None).await
    }

    /// Boots a `starting` session, restores its latest good snapshot (when its template persists
    /// paths), and commits the outcome: `running` once both are done, or `failed` with the reason
    /// (which frees its quota slot).
    pub async fn finish_start(&self, session: Session) -> Result<Session> {
        let runtime = self.runtime()?;
        let spec = self.runtime_spec(&session).await?;
        let started = match runtime.start(&spec).await {
            Ok(()) => self.restore_latest(&session, &spec.manifest, runtime.as_ref()).await.map_err(|e| e.message),
            Err(e) => Err(format!("the runtime could not start the session: {e}")),
        };
        match started {
            Ok(()) => {
                let ready = self.transition(None, &session, SessionCommand::Ready, "session.running").await;
                if ready.is_err() {
                    // Stopped or deleted while it booted: what booted must not keep running.
                    let _ = runtime.stop(&session.id).await;
                }
                ready
            }
            Err(reason) => {
                let _ = runtime.stop(&session.id).await;
                self.transition(None, &session, SessionCommand::Fail(reason), "session.failed").await
            }
        }
    }

    /// Starts the session and waits until the runtime says it is running (or failed).
    pub async fn start_session(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        let starting = self.begin_start(actor, id).await?;
        self.finish_start(starting).await
    }

    /// Stops the session's runtime and waits until the session sleeps.
    pub async fn stop_session(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        self.stop(Some(&actor.user.id), session, None).await
    }

    /// Stops a running session (if it runs) and starts it again; waits until it runs or failed.
    pub async fn restart_session(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        actor.require(Role::Member)?;
        let mut session = self.session(actor, id).await?;
        self.runtime()?;
        if matches!(session.state, SessionState::Running | SessionState::Starting) {
            session = self.stop(Some(&actor.user.id), session, Some("restart")).await?;
        }
        let starting = self.transition_to_starting(Some(&actor.user.id), session, Some("restart")).await?;
        self.finish_start(starting).await
    }

    /// Deletes the session (its runtime is stopped first); it stays readable until purged.
    pub async fn delete_session(&self, actor: &Actor, id: &SessionId) -> Result<Session> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        if sessions::holds_a_slot(session.state) {
            if let Some(runtime) = &self.ports.runtime {
                runtime.stop(&session.id).await?;
            }
        }
        let deleted = self.transition(Some(&actor.user.id), &session, SessionCommand::Delete, "session.deleted").await;
        match deleted {
            // The stopped runtime was noticed meanwhile (a terminal's agent ended, reconcile) and
            // the session marked failed: delete it as it now is.
            Err(e) if e.code == Code::SessionChanged => {
                let session = self.session(actor, id).await?;
                self.transition(Some(&actor.user.id), &session, SessionCommand::Delete, "session.deleted").await
            }
            other => other,
        }
    }

    /// What the workspace used this calendar month (UTC), by kind, with its plan.
    pub async fn usage(&self, actor: &Actor) -> Result<(Vec<(String, i64)>, Plan)> {
        let workspace = self.workspace(&actor.workspace_id).await?;
        let totals = self.ports.usage.totals(&actor.workspace_id, self.now().month_start()).await?;
        Ok((totals, workspace.plan))
    }

    pub(crate) fn runtime(&self) -> Result<Arc<dyn RuntimeDriver>> {
        self.ports.runtime.clone().ok_or_else(runtime_unavailable)
    }

    async fn runtime_spec(&self, session: &Session) -> Result<RuntimeSpec> {
        let version = self.ports.templates.get_version(&session.template_id, &session.version_id).await?;
        let version = version.ok_or_else(|| Error::new(Code::VersionNotFound, "The session's version is gone"))?;
        Ok(RuntimeSpec {
            session_id: session.id.clone(),
            workspace_id: session.workspace_id.clone(),
            template_id: session.template_id.clone(),
            version_id: session.version_id.clone(),
            manifest: version.manifest,
            bundle_key: version.bundle.map(|b| b.key),
        })
    }

    pub(crate) async fn transition_to_starting(
        &self,
        actor: Option<&UserId>,
        session: Session,
        reason: Option<&str>,
    ) -> Result<Session> {
        let workspace = self.workspace(&session.workspace_id).await?;
        let max = u64::from(workspace.plan.limits().max_running_sessions);
        let (starting, mut details) = sessions::apply(&session, SessionCommand::Start, self.now())?;
        if let Some(reason) = reason {
            details = json!({ "reason": reason });
        }
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateSession { session: starting.clone(), expected_version: session.version })
            .push(Write::AtMost { counted: Counted::ActiveSessions(session.workspace_id.clone()), max })
            .push(self.session_event(&starting, details));
        let action = if reason == Some("restart") { "session.restarted" } else { "session.started" };
        if let Some(actor) = actor {
            batch.push(self.audit_session(actor, action, &starting, json!({})));
        }
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => Err(self.start_conflict(&session, max).await),
            other => other.map(|()| starting),
        }
    }

    /// Why a start lost: the quota was full, or another request moved the session first.
    async fn start_conflict(&self, session: &Session, max: u64) -> Error {
        let active = self.ports.sessions.in_states(Some(&session.workspace_id), &ACTIVE).await;
        if active.is_ok_and(|a| a.len() as u64 >= max) {
            return Error::new(Code::SessionLimit, format!("Running session limit reached ({max} on this plan)"));
        }
        Error::new(Code::SessionChanged, "Another request changed this session first; nothing was done")
    }

    pub(crate) async fn stop(&self, actor: Option<&UserId>, session: Session, reason: Option<&str>) -> Result<Session> {
        let command = SessionCommand::Stop { reason: reason.map(str::to_string) };
        let mut stopping = self.transition(actor, &session, command, "session.stopped").await?;
        if session.state == SessionState::Running {
            stopping = self.save_before_stop(stopping).await?;
        }
        if let Some(runtime) = &self.ports.runtime {
            runtime.stop(&stopping.id).await?;
        }
        self.transition(None, &stopping, SessionCommand::Stopped, "session.slept").await
    }

    /// One guarded transition with its event, its audit (when someone asked for it) and, when the
    /// session leaves `running`, the runtime seconds it used.
    async fn transition(
        &self,
        actor: Option<&UserId>,
        session: &Session,
        command: SessionCommand,
        action: &str,
    ) -> Result<Session> {
        let now = self.now();
        let (next, details) = sessions::apply(session, command, now)?;
        let mut batch = Batch::new();
        batch
            .push(Write::UpdateSession { session: next.clone(), expected_version: session.version })
            .push(self.session_event(&next, details));
        if let Some(seconds) = runtime_seconds(session, &next, now) {
            batch.push(Write::Usage(UsageEvent {
                id: UsageId::from_uuid(self.ports.random.uuid()),
                workspace_id: next.workspace_id.clone(),
                kind: RUNTIME_SECONDS.into(),
                value: seconds,
                details: json!({ "sessionId": next.id.as_str() }),
                created_at: now,
            }));
        }
        if let Some(actor) = actor {
            batch.push(self.audit_session(actor, action, &next, json!({})));
        }
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => {
                Err(Error::new(Code::SessionChanged, "Another request changed this session first; nothing was done"))
            }
            other => other.map(|()| next),
        }
    }

    /// A transition reconcile makes on its own (no actor, no audit).
    pub(crate) async fn system_transition(&self, session: &Session, command: SessionCommand) -> Result<Session> {
        self.transition(None, session, command, "").await
    }

    fn session_event(&self, session: &Session, details: Value) -> Write {
        Write::AppendSessionEvent(SessionEvent {
            id: SessionEventId::from_uuid(self.ports.random.uuid()),
            session_id: session.id.clone(),
            workspace_id: session.workspace_id.clone(),
            state: session.state,
            details,
            created_at: self.now(),
        })
    }

    fn audit_session(&self, user: &UserId, action: &str, session: &Session, details: Value) -> Write {
        self.audit(action, Some(user), Some(&session.workspace_id), ("session", session.id.as_str()), details)
    }
}

/// Usage kind: seconds a session's runtime ran, recorded when it leaves `running`.
pub const RUNTIME_SECONDS: &str = "runtime_seconds";

/// States whose runtime holds a quota slot.
const ACTIVE: [SessionState; 3] = [SessionState::Starting, SessionState::Running, SessionState::Stopping];

/// The seconds of running a transition ends: from `running` (its last start) to the moment it
/// leaves `running` (a stop asked for, a failure, a delete).
fn runtime_seconds(before: &Session, after: &Session, now: Timestamp) -> Option<i64> {
    if before.state != SessionState::Running || after.state == SessionState::Running {
        return None;
    }
    let started = before.last_started_at?;
    Some(((now.millis() - started.millis()).max(0)) / 1000)
}
