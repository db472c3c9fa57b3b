//! The session state machine: one pure function, [`apply`], from a session and a command to the
//! session as it must be stored (state, detail, timestamps, row version) and the one event its
//! history gains, or the refusal the caller sees. Every transition is then committed as one batch
//! guarded by the row version the caller read, so of racing commands exactly one wins.
//!
//! ```text
//!   created ─Start─► starting ─Ready─► running ─Stop─► stopping ─Stopped─► sleeping
//!                     │   ▲               │                                   │
//!                     │   └────Start──────┼───────────────────────────────────┘
//!                  Fail                 Fail (died)         any ─Delete─► deleted
//!                     ▼                   ▼
//!                   failed ◄──────────────┘   (failed ─Start─► starting)
//! ```

use crate::error::{Code, Error};
use crate::model::Session;
use crate::time::Timestamp;
use crate::values::SessionState;
use serde_json::{json, Value};

/// What is asked of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// Boot the runtime (from `created`, `sleeping` or `failed`).
    Start,
    /// The runtime reported healthy.
    Ready,
    /// The runtime could not start, or died: the session keeps the reason.
    Fail(String),
    /// Shut the runtime down (from `running` or `starting`); `reason` says why (`restart`, `idle`).
    Stop { reason: Option<String> },
    /// The runtime is down: the session sleeps.
    Stopped,
    /// Remove the session (from any state but `deleted`).
    Delete,
    /// A save of the persisted paths failed (from `running` or `stopping`): the state stays,
    /// the session keeps the reason in its detail until it starts again.
    SaveFailed(String),
}

impl SessionCommand {
    fn refusal(&self, from: SessionState) -> Error {
        use SessionState::*;
        match (self, from) {
            (_, Deleted) => Error::new(Code::SessionDeleted, "Session deleted"),
            (SessionCommand::Start, _) => {
                Error::new(Code::SessionNotStartable, format!("A {from} session cannot be started"))
            }
            (SessionCommand::Stop { .. }, _) => {
                Error::new(Code::SessionNotStoppable, format!("A {from} session cannot be stopped"))
            }
            _ => Error::new(Code::SessionChanged, format!("The session is {from}; another request moved it")),
        }
    }
}

/// The session after `command` at `at`, and the state and details of the event it appends.
pub fn apply(session: &Session, command: SessionCommand, at: Timestamp) -> Result<(Session, Value), Error> {
    use SessionState::*;
    let mut next = session.clone();
    let mut details = json!({});
    let to = match (session.state, &command) {
        (Created | Sleeping | Failed, SessionCommand::Start) => {
            next.state_detail = None;
            Starting
        }
        (Starting, SessionCommand::Ready) => {
            next.last_started_at = Some(at);
            next.last_active_at = Some(at);
            Running
        }
        (Starting | Running, SessionCommand::Fail(reason)) => {
            next.state_detail = Some(reason.clone());
            details = json!({ "reason": reason });
            if session.state == Running {
                next.last_stopped_at = Some(at);
            }
            Failed
        }
        (Running | Starting, SessionCommand::Stop { reason }) => {
            if let Some(reason) = reason {
                details = json!({ "reason": reason });
            }
            Stopping
        }
        (Stopping, SessionCommand::Stopped) => {
            next.last_stopped_at = Some(at);
            Sleeping
        }
        (from, SessionCommand::Delete) if from != Deleted => Deleted,
        (Running | Stopping, SessionCommand::SaveFailed(reason)) => {
            next.state_detail = Some(format!("the last save failed: {reason}"));
            details = json!({ "saveFailed": reason });
            session.state
        }
        (from, _) => return Err(command.refusal(from)),
    };
    next.state = to;
    next.updated_at = at;
    next.version = session.version + 1;
    Ok((next, details))
}

/// States whose runtime holds (or is about to hold) one of the plan's running-session slots.
pub fn holds_a_slot(state: SessionState) -> bool {
    matches!(state, SessionState::Starting | SessionState::Running | SessionState::Stopping)
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
