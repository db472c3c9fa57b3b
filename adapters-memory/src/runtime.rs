//! A fake session runtime for tests: it "runs" a session by remembering it, and can be told to
//! refuse starts, to hang in them, or to let a running session die. It counts the calls it gets,
//! so tests can check that racing requests booted a session once. Each session's persisted paths
//! are one byte string (what `save` streams and `restore` replaces), which tests set and read.

use async_trait::async_trait;
use burstflare_core::blob::{read_to_end, ByteStream, BytesBody};
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::AgentAddress;
use burstflare_core::ports::{AgentEndpoint, PortResult, RuntimeDriver, RuntimeSpec, RuntimeStatus};
use burstflare_core::time::Timestamp;
use std::collections::{HashMap, HashSet};
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
    activity: Mutex<HashMap<SessionId, Timestamp>>,
    starts: AtomicUsize,
    stops: AtomicUsize,
    files: Mutex<HashMap<SessionId, Vec<u8>>>,
    save_failure: Mutex<Option<String>>,
    restores: AtomicUsize,
}

/// The largest persisted content the fake keeps.
const MAX_FILES: u64 = 64 * 1024 * 1024;

/// How the fake's archives start (a real archive is never empty either): an archive is this
/// header and then the files' bytes; `restore` refuses anything else.
pub const FAKE_ARCHIVE_HEADER: &[u8] = b"fake-archive\n";

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
    /// The session's agent saw use at `at` (reported by `status` while it runs).
    pub fn saw_activity(&self, session: &SessionId, at: Timestamp) {
        self.activity.lock().expect("fake runtime lock").insert(session.clone(), at);
    }
    /// How many starts it was asked for.
    pub fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }
    pub fn stops(&self) -> usize {
        self.stops.load(Ordering::SeqCst)
    }
    /// The session's persisted paths now hold `bytes` (as if its user wrote them).
    pub fn write_files(&self, session: &SessionId, bytes: &[u8]) {
        self.files.lock().expect("fake runtime lock").insert(session.clone(), bytes.to_vec());
    }
    /// What the session's persisted paths hold (empty when nothing was written or restored).
    pub fn files(&self, session: &SessionId) -> Vec<u8> {
        self.files.lock().expect("fake runtime lock").get(session).cloned().unwrap_or_default()
    }
    /// The next saves fail with this reason (or succeed again with `None`).
    pub fn set_save_failure(&self, reason: Option<&str>) {
        *self.save_failure.lock().expect("fake runtime lock") = reason.map(str::to_string);
    }
    /// How many restores it was asked for.
    pub fn restores(&self) -> usize {
        self.restores.load(Ordering::SeqCst)
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
        if !self.is_running(session) {
            return Ok(RuntimeStatus::Stopped);
        }
        let last_activity = self.activity.lock().expect("fake runtime lock").get(session).copied();
        Ok(RuntimeStatus::Running { last_activity })
    }

    async fn logs(&self, session: &SessionId, _max_bytes: usize) -> PortResult<String> {
        Ok(if self.is_running(session) { format!("fake runtime: {session} is running\n") } else { String::new() })
    }

    /// An address nothing listens on: the fake runs no agent, so a connection through it fails
    /// like one to an agent that just died.
    fn endpoint(&self, session: &SessionId) -> Option<AgentEndpoint> {
        self.is_running(session).then(|| AgentEndpoint {
            address: AgentAddress::Unix(format!("/nonexistent/burstflare-fake-runtime/{session}.sock")),
            secret: "fake".to_string(),
        })
    }

    fn keeps_persisted_paths(&self) -> bool {
        true
    }

    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        if !self.is_running(session) {
            return Err(PortError::Other("the session is not running".into()));
        }
        if let Some(reason) = self.save_failure.lock().expect("fake runtime lock").clone() {
            return Err(PortError::Other(reason));
        }
        Ok(Box::new(BytesBody::new([FAKE_ARCHIVE_HEADER, &self.files(session)].concat())))
    }

    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        if !self.is_running(session) {
            return Err(PortError::Other("the session is not running".into()));
        }
        let bytes = read_to_end(archive, MAX_FILES).await?;
        let files = bytes.strip_prefix(FAKE_ARCHIVE_HEADER).ok_or_else(|| PortError::Other("not an archive".into()))?;
        self.restores.fetch_add(1, Ordering::SeqCst);
        self.write_files(session, files);
        Ok(())
    }
}
