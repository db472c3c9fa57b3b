//! Connecting to a session's runtime (terminal, SSH, preview): who may, waking a sleeping session
//! on an explicit connect by someone allowed to start it, recording the use, and where the edge
//! reaches the session's agent. Also what the CLI needs for SSH (the pinned host key), the
//! session's logs, and preview passes.

use super::{Actor, Service};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids::{SessionId, UserId, WorkspaceId};
use crate::model::Session;
use crate::ports::AgentEndpoint;
use crate::session_keys::{PreviewPass, SessionKeys};
use crate::store::{Batch, Write};
use crate::time::Timestamp;
use crate::values::{Role, SessionState};

/// Activity is written at most this often per session.
pub const ACTIVITY_WRITE_SECONDS: i64 = 30;
/// How long a preview pass (the preview origin's cookie) lasts.
pub const PREVIEW_PASS_SECONDS: i64 = 12 * 3600;
/// How long a preview link from the API can be opened.
pub const PREVIEW_LINK_SECONDS: i64 = 120;

/// What a connection is for: terminals and SSH run commands (members and up); previews only show
/// what the session serves (viewers too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeUse {
    Terminal,
    Ssh,
    Preview,
}

impl RuntimeUse {
    /// The least role that may make this use of a session.
    pub fn role(self) -> Role {
        match self {
            Self::Terminal | Self::Ssh => Role::Member,
            Self::Preview => Role::Viewer,
        }
    }
}

/// Someone asking for a session's runtime, however they proved it (a signed-in caller, a runtime
/// token, a preview pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeCaller {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
}

impl From<&Actor> for RuntimeCaller {
    fn from(actor: &Actor) -> Self {
        Self { user_id: actor.user.id.clone(), workspace_id: actor.workspace_id.clone(), role: actor.role() }
    }
}

/// A connection the edge may open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConnection {
    pub session: Session,
    pub endpoint: AgentEndpoint,
}

/// What `ssh` needs to reach a session with its host key pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshInfo {
    pub session: Session,
    /// `ssh-ed25519 AAAA…`, the same across restarts.
    pub host_key: String,
}

fn not_running(session: &Session) -> Error {
    let message = match session.state {
        SessionState::Failed => format!(
            "The session failed ({}); restart it",
            session.state_detail.as_deref().unwrap_or("no reason recorded")
        ),
        SessionState::Deleted => "The session was deleted".to_string(),
        state => format!("The session is {}; try again once it is running", state.as_str()),
    };
    Error::new(Code::SessionNotRunning, message)
}

impl Service {
    /// Opens `use_` of the session for `caller`: refuses roles below what it needs (viewers get
    /// previews only), wakes a `sleeping` or never-started session when the caller may start it,
    /// records the use, and returns where its agent listens.
    pub async fn connect_runtime(
        &self,
        caller: &RuntimeCaller,
        id: &SessionId,
        use_: RuntimeUse,
    ) -> Result<RuntimeConnection> {
        if !caller.role.at_least(use_.role()) {
            return Err(Error::insufficient_role());
        }
        let found = self.ports.sessions.get(&caller.workspace_id, id).await?;
        let mut session = found.ok_or_else(super::sessions::session_not_found)?;
        let runtime = self.ports.runtime.clone().ok_or_else(super::sessions::runtime_unavailable)?;
        let may_wake = caller.role.at_least(Role::Member);
        if may_wake && matches!(session.state, SessionState::Sleeping | SessionState::Created) {
            session = self.wake(caller, session).await?;
        }
        if session.state != SessionState::Running {
            return Err(not_running(&session));
        }
        let Some(endpoint) = runtime.endpoint(&session.id) else {
            // The driver knows no live agent for a session the store says runs.
            if self.check_runtime(&session).await? {
                let message = "The session's runtime stopped unexpectedly; it is now failed: restart it";
                return Err(Error::new(Code::SessionNotRunning, message));
            }
            return Err(Error::new(Code::AgentUnreachable, "The session's agent cannot be reached"));
        };
        self.record_activity(&session).await?;
        Ok(RuntimeConnection { session, endpoint })
    }

    /// Starts a session for a connect, waiting for it; a start that lost to another request's is
    /// awaited by reading the session again.
    async fn wake(&self, caller: &RuntimeCaller, session: Session) -> Result<Session> {
        match self.transition_to_starting(Some(&caller.user_id), session.clone(), Some("connect")).await {
            Ok(starting) => self.finish_start(starting).await,
            Err(e) if e.kind() == ErrorKind::Conflict && e.code == Code::SessionChanged => {
                let again = self.ports.sessions.get(&caller.workspace_id, &session.id).await?;
                again.ok_or_else(super::sessions::session_not_found)
            }
            Err(e) => Err(e),
        }
    }

    /// Asks the driver about a running session whose agent did not answer: one whose runtime
    /// stopped is marked `failed` now, freeing its quota slot (reconcile would, later). Returns
    /// whether it was.
    pub async fn check_runtime(&self, session: &Session) -> Result<bool> {
        let Some(runtime) = self.ports.runtime.clone() else { return Ok(false) };
        if session.state != SessionState::Running {
            return Ok(false);
        }
        if runtime.status(&session.id).await? != crate::ports::RuntimeStatus::Stopped {
            return Ok(false);
        }
        let reason = "the runtime stopped unexpectedly".to_string();
        self.system_transition(session, crate::machines::sessions::SessionCommand::Fail(reason)).await?;
        Ok(true)
    }

    /// [`check_runtime`](Self::check_runtime) for a runtime that watches its own session (the
    /// Durable Object's heartbeat): found by workspace and id, no caller. Returns whether the
    /// session was marked `failed`.
    pub async fn check_runtime_of(&self, workspace: &WorkspaceId, id: &SessionId) -> Result<bool> {
        match self.ports.sessions.get(workspace, id).await? {
            Some(session) => self.check_runtime(&session).await,
            None => Ok(false),
        }
    }

    /// Moves the session's `last_active_at` to now unless it was written in the last
    /// [`ACTIVITY_WRITE_SECONDS`] (so use costs at most one write per session per interval).
    pub async fn record_activity(&self, session: &Session) -> Result<()> {
        self.record_activity_at(session, self.now()).await
    }

    pub(crate) async fn record_activity_at(&self, session: &Session, at: Timestamp) -> Result<()> {
        let fresh = session.last_active_at.is_some_and(|last| last.plus_seconds(ACTIVITY_WRITE_SECONDS) > at);
        if fresh {
            return Ok(());
        }
        let mut batch = Batch::new();
        batch.push(Write::TouchSession { session_id: session.id.clone(), at });
        self.commit(batch).await
    }

    /// The session's SSH host key, for `known_hosts` (members and up: viewers cannot use SSH).
    pub async fn ssh_info(&self, actor: &Actor, id: &SessionId) -> Result<SshInfo> {
        actor.require(Role::Member)?;
        let session = self.session(actor, id).await?;
        let keys = self.session_keys()?;
        let host_key = keys.host_public_key(&session.id);
        Ok(SshInfo { session, host_key })
    }

    /// The last `max_bytes` of the session's command output.
    pub async fn session_logs(&self, actor: &Actor, id: &SessionId, max_bytes: usize) -> Result<String> {
        let session = self.session(actor, id).await?;
        let runtime = self.ports.runtime.clone().ok_or_else(super::sessions::runtime_unavailable)?;
        Ok(runtime.logs(&session.id, max_bytes).await?)
    }

    /// A signed pass into the session's preview for the caller, good for
    /// [`PREVIEW_LINK_SECONDS`]: the link the API hands out, which the preview's origin trades
    /// for its own cookie.
    pub async fn issue_preview_link(&self, actor: &Actor, id: &SessionId) -> Result<(Session, String, Timestamp)> {
        let session = self.session(actor, id).await?;
        let expires = self.now().plus_seconds(PREVIEW_LINK_SECONDS);
        let pass = self.preview_pass(&RuntimeCaller::from(actor), &session.id, expires)?;
        Ok((session, pass, expires))
    }

    /// The preview origin's cookie for a caller it let in: a pass good for [`PREVIEW_PASS_SECONDS`].
    pub fn renew_preview_pass(&self, caller: &RuntimeCaller, session: &SessionId) -> Result<String> {
        self.preview_pass(caller, session, self.now().plus_seconds(PREVIEW_PASS_SECONDS))
    }

    fn preview_pass(&self, caller: &RuntimeCaller, session: &SessionId, expires: Timestamp) -> Result<String> {
        let pass = PreviewPass {
            workspace: caller.workspace_id.to_string(),
            session: session.to_string(),
            user: caller.user_id.to_string(),
            expires_ms: expires.millis(),
        };
        Ok(self.session_keys()?.preview_pass(&pass))
    }

    /// Who a preview pass lets in, if it is valid for `session` and its user is still a member of
    /// the workspace (whatever role: viewers may preview).
    pub async fn preview_caller(&self, value: &str, session: &SessionId) -> Result<RuntimeCaller> {
        let refused = Error::invalid_token;
        let keys = self.session_keys()?;
        let pass = keys.verify_preview_pass(value, self.now().millis()).ok_or_else(refused)?;
        if pass.session != session.as_str() {
            return Err(refused());
        }
        let (workspace_id, user_id) = (WorkspaceId::from_raw(pass.workspace), UserId::from_raw(pass.user));
        let membership = self.ports.memberships.get(&workspace_id, &user_id).await?.ok_or_else(refused)?;
        Ok(RuntimeCaller { user_id, workspace_id, role: membership.role })
    }

    fn session_keys(&self) -> Result<SessionKeys> {
        self.ports.session_keys.clone().ok_or_else(super::sessions::runtime_unavailable)
    }
}
