//! A fake session runtime for tests: it "runs" a session by remembering it, and can be told to
//! refuse starts, to hang in them, or to let a running session die. It counts the calls it gets,
//! so tests can check that racing requests booted a session once.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{AgentEndpoint, PortResult, RuntimeDriver, RuntimeSpec, RuntimeStatus};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How the next starts behave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FakeStart {
    /// The session reports healthy at once.
    #[default]
    Healthy,
    /// The start fails with this reason.
    Fail(String),
    /// The start never returns (the caller's deadline or reconcile must deal with it).
    Hang,
}

#[derive(Debug, Default)]
pub struct FakeRuntime {
    running: Mutex<HashSet<SessionId>>,
    behaviour: Mutex<FakeStart>,
    starts: AtomicUsize,
    stops: AtomicUsize,
}

impl FakeRuntime {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets how the next starts behave.
    pub fn set_start(&self, behaviour: FakeStart) {
        *self.behaviour.lock().expect("fake runtime lock") = behaviour;
    }
    /// The session's runtime dies (its status turns `Stopped`).
    pub fn kill(&self, session: &SessionId) {
        self.running.lock().expect("fake runtime lock").remove(session);
    }
    pub fn is_running(&self, session: &SessionId) -> bool {
        self.running.lock().expect("fake runtime lock").contains(session)
    }
    /// How many starts it was asked for.
    pub fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }
    pub fn stops(&self) -> usize {
        self.stops.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl RuntimeDriver for FakeRuntime {
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        let behaviour = self.behaviour.lock().expect("fake runtime lock").clone();
        match behaviour {
            FakeStart::Healthy => {
                self.running.lock().expect("fake runtime lock").insert(spec.session_id.clone());
                Ok(())
            }
            FakeStart::Fail(reason) => Err(PortError::Other(reason)),
            FakeStart::Hang => std::future::pending().await,
        }
    }

    async fn stop(&self, session: &SessionId) -> PortResult<()> {
        self.stops.fetch_add(1, Ordering::SeqCst);
        self.kill(session);
        Ok(())
    }

    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus> {
        Ok(if self.is_running(session) {
            RuntimeStatus::Running { last_activity: None }
        } else {
            RuntimeStatus::Stopped
        })
    }

    async fn logs(&self, session: &SessionId, _max_bytes: usize) -> PortResult<String> {
        Ok(if self.is_running(session) { format!("fake runtime: {session} is running\n") } else { String::new() })
    }

    fn endpoint(&self, _session: &SessionId) -> Option<AgentEndpoint> {
        None
    }
}
