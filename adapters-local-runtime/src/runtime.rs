//! [`LocalRuntime`]: the agents this server runs, what it knows of each (in memory, and in each
//! session's host-only `agent.json` so a restarted server adopts them), and how one is ended.

use crate::client;
use crate::config::{LocalRuntimeConfig, SandboxMode};
use crate::files;
use crate::layout::{make_private_dir, validate_session_id, SessionPaths};
use crate::process::AgentRecord;
use crate::sandbox;
use anyhow::{bail, Context};
use burstflare_core::blob::BlobStore;
use burstflare_core::ids::SessionId;
use burstflare_core::session_keys::SessionKeys;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::process::Child;

/// How long a stopping agent gets to end its command and exit after `/shutdown` (a little more
/// than the agent gives a command that ignores SIGTERM).
const STOP_GRACE: Duration = Duration::from_secs(6);
/// How long one request to an agent may take during a stop or a status.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long killed processes get to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// An agent this driver started or adopted.
pub(crate) struct Live {
    pub record: AgentRecord,
    /// The spawned process when this driver started it (to reap it); `None` when adopted.
    pub child: Option<Child>,
}

/// Runs each session's agent as a local process (see the crate's documentation).
pub struct LocalRuntime {
    pub(crate) sessions_dir: PathBuf,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) sandboxed: bool,
    pub(crate) keys: SessionKeys,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) start_timeout: Duration,
    live: Mutex<HashMap<String, Live>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("sessions_dir", &self.sessions_dir)
            .field("program", &self.program)
            .field("sandboxed", &self.sandboxed)
            .finish_non_exhaustive()
    }
}

impl LocalRuntime {
    /// Prepares `sessions_dir` (0700), picks the sandbox and adopts the agents a previous server
    /// left running there (their processes verified by start time); dead ones are cleaned up.
    pub fn new(config: LocalRuntimeConfig) -> anyhow::Result<Self> {
        let LocalRuntimeConfig { sessions_dir, agent_command, sandbox, keys, blobs, start_timeout } = config;
        let Some((program, args)) = agent_command.split_first() else { bail!("the agent command is empty") };
        let program = resolve_program(Path::new(program))?;
        if sessions_dir.to_str().is_none() {
            bail!("the sessions folder {} is not valid UTF-8", sessions_dir.display());
        }
        make_private_dir(&sessions_dir).with_context(|| format!("preparing {}", sessions_dir.display()))?;
        let sessions_dir = sessions_dir.canonicalize()?;
        let sandboxed = match sandbox {
            SandboxMode::Plain => false,
            SandboxMode::Bwrap if sandbox::bwrap_works() => true,
            SandboxMode::Bwrap => bail!("bwrap does not work on this host (is bubblewrap installed?)"),
            SandboxMode::Auto if sandbox::bwrap_works() => true,
            SandboxMode::Auto => {
                tracing::warn!(
                    "bwrap (bubblewrap) does not work on this host: sessions run as PLAIN PROCESSES with this \
                     server's user and full access to the host and its network. Install bubblewrap to sandbox them."
                );
                false
            }
        };
        let runtime = Self {
            sessions_dir,
            program,
            args: args.to_vec(),
            sandboxed,
            keys,
            blobs,
            start_timeout,
            live: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
        };
        runtime.adopt()?;
        Ok(runtime)
    }

    /// True when agents run in the bubblewrap sandbox.
    pub fn sandboxed(&self) -> bool {
        self.sandboxed
    }

    /// Stops every agent this driver started or adopted.
    pub async fn shutdown_all(&self) {
        let ids: Vec<String> = self.live().keys().cloned().collect();
        for id in ids {
            let lock = self.lock_for(&id);
            let _guard = lock.lock().await;
            if let Ok(paths) = SessionPaths::new(&self.sessions_dir, &id) {
                self.terminate(&id, &paths, true).await;
            }
        }
    }

    /// Takes over the agents recorded under `sessions_dir` that still run.
    fn adopt(&self) -> anyhow::Result<()> {
        let (mut adopted, mut cleaned) = (0, 0);
        for entry in std::fs::read_dir(&self.sessions_dir)? {
            let name = entry?.file_name();
            let Some(id) = name.to_str().filter(|id| validate_session_id(id).is_ok()) else { continue };
            let paths = SessionPaths::new(&self.sessions_dir, id)?;
            let Some(record) = read_record(&paths) else { continue };
            if record.is_alive() {
                self.live().insert(id.to_string(), Live { record, child: None });
                adopted += 1;
            } else {
                record.kill_all();
                clear_files(&paths);
                cleaned += 1;
            }
        }
        tracing::info!(adopted, cleaned, "local runtime: agents of an earlier run");
        Ok(())
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lock that serialises start, stop and status of one session.
    pub(crate) fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    /// The record of the session's agent, if this driver has one.
    pub(crate) fn record(&self, id: &str) -> Option<AgentRecord> {
        self.live().get(id).map(|live| live.record.clone())
    }

    pub(crate) fn secret(&self, id: &str, generation: &str) -> String {
        self.keys.agent_secret(&SessionId::from_raw(id), generation)
    }

    /// Ends the session's agent: `/shutdown` first when `graceful`, then SIGKILL for whatever is
    /// left, reaping it, and removes its record and socket. The caller holds the session's lock.
    pub(crate) async fn terminate(&self, id: &str, paths: &SessionPaths, graceful: bool) {
        let taken = self.live().remove(id);
        let Some(Live { record, child }) = taken else {
            clear_files(paths);
            return;
        };
        if graceful && record.is_alive() {
            let secret = self.secret(id, &record.generation);
            match client::shutdown(&paths.socket(), &secret, REQUEST_TIMEOUT).await {
                Ok(()) => {
                    if !record.wait_gone(STOP_GRACE).await {
                        tracing::warn!(session = id, "the agent did not exit after /shutdown: killing it");
                    }
                }
                Err(reason) => tracing::warn!(session = id, reason, "the agent refused /shutdown: killing it"),
            }
        }
        record.kill_all();
        if let Some(mut child) = child {
            let _ = tokio::time::timeout(KILL_WAIT, child.wait()).await;
        }
        if !record.wait_gone(KILL_WAIT).await {
            tracing::error!(session = id, pid = record.process.pid, "the agent's processes survived SIGKILL");
        }
        clear_files(paths);
    }
}

/// The session's `agent.json`, if it holds a readable record.
pub(crate) fn read_record(paths: &SessionPaths) -> Option<AgentRecord> {
    let bytes = files::tail(&paths.record, 64 * 1024).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the session's record and socket (the agent is gone).
fn clear_files(paths: &SessionPaths) {
    let _ = files::remove_if_present(&paths.record);
    let _ = files::remove_if_present(&paths.socket());
}

/// The agent program as an absolute path (looked up on `PATH` when it is a bare name).
fn resolve_program(program: &Path) -> anyhow::Result<PathBuf> {
    let found = if program.components().count() > 1 || program.is_absolute() {
        Some(program.to_path_buf())
    } else {
        std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).map(|dir| dir.join(program)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .find(|candidate| candidate.is_file())
    };
    let found = found.with_context(|| format!("the agent program {} was not found", program.display()))?;
    found.canonicalize().with_context(|| format!("the agent program {} was not found", found.display()))
}
