//! [`RuntimeDriver`] for [`LocalRuntime`]: start (folders, bundle, agent, wait for health), stop,
//! status, logs, the agent's endpoint, and the persisted paths' save and restore.

use crate::client::{self, Health};
use crate::files;
use crate::layout::{SessionPaths, BUNDLE_NAME, SOCKET_NAME};
use crate::persist;
use crate::runtime::{Live, LocalRuntime, REQUEST_TIMEOUT};
use crate::sandbox;
use crate::spawn::{self, agent_output_tail, Launch};
use async_trait::async_trait;
use burstflare_containers::config::{AgentConfig, Listen};
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{AgentAddress, AgentEndpoint, PortResult, RuntimeDriver, RuntimeSpec, RuntimeStatus};
use burstflare_core::time::Timestamp;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most of a command's log returned at once.
const MAX_LOGS: usize = 4 * 1024 * 1024;

fn other(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Other(format!("{what}: {e}"))
}

impl LocalRuntime {
    /// Writes the template's bundle into `run/` unless the workspace already holds it unpacked;
    /// returns whether the agent has a bundle to unpack.
    async fn place_bundle(&self, spec: &RuntimeSpec, paths: &SessionPaths) -> PortResult<bool> {
        let Some(key) = &spec.bundle_key else { return Ok(false) };
        if files::exists_no_follow(&paths.marker()) {
            return Ok(false);
        }
        let mut blob = self
            .blobs
            .get(key)
            .await?
            .ok_or_else(|| PortError::Other("the template's bundle is missing from storage".into()))?;
        files::stream_into(&paths.bundle_tmp(), &paths.bundle(), blob.body.as_mut()).await?;
        Ok(true)
    }

    /// The agent's configuration, with paths as the agent sees them.
    fn agent_config(&self, spec: &RuntimeSpec, paths: &SessionPaths, secret: String, bundle: bool) -> AgentConfig {
        let (workspace, run) = if self.sandboxed {
            (PathBuf::from(sandbox::WORKSPACE), PathBuf::from(sandbox::RUN_DIR))
        } else {
            (paths.workspace.clone(), paths.run.clone())
        };
        // In the sandbox the socket's path is short (`/run/burstflare/agent.sock`); in plain mode
        // the agent runs in its run folder and binds the name alone, so however long the data
        // directory's path is, it never meets the kernel's 108-byte limit on socket paths (the
        // server connects through a file descriptor, never by the long path).
        let socket = if self.sandboxed { run.join(SOCKET_NAME) } else { PathBuf::from(SOCKET_NAME) };
        AgentConfig {
            session_id: spec.session_id.to_string(),
            listen: Listen::Unix(socket),
            secret,
            workspace,
            bundle: bundle.then(|| run.join(BUNDLE_NAME)),
            bundle_upload: false,
            state_dir: run,
            command: spec.manifest.command.clone(),
            env: spec.manifest.env.clone(),
            preview_port: spec.manifest.preview_port,
            preview_timeout_ms: burstflare_containers::config::DEFAULT_PREVIEW_TIMEOUT_MS,
            ssh_host_key_seed: hex::encode(self.keys.host_key_seed(&spec.session_id)),
            shell: None,
            persisted_paths: spec.manifest.persisted_in_workspace(),
        }
    }

    /// Starts a fresh agent for `spec`; the caller holds the session's lock and no agent runs.
    async fn boot(&self, spec: &RuntimeSpec, paths: &SessionPaths) -> PortResult<()> {
        let id = spec.session_id.as_str();
        paths.create().map_err(|e| other("preparing the session's folders", e))?;
        files::remove_if_present(&paths.socket()).map_err(|e| other("clearing the old socket", e))?;
        let bundle = self.place_bundle(spec, paths).await?;
        let generation = fresh_generation()?;
        let secret = self.secret(id, &generation);
        let config = self.agent_config(spec, paths, secret.clone(), bundle);
        let json = serde_json::to_vec(&config).map_err(|e| other("encoding the agent's configuration", e))?;
        let deadline = Instant::now() + self.start_timeout;
        let launch = Launch {
            program: &self.program,
            args: &self.args,
            sandboxed: self.sandboxed,
            paths,
            config_json: &json,
            generation,
            info_timeout: self.start_timeout,
        };
        let (child, record) = spawn::spawn(launch)
            .await
            .map_err(|reason| PortError::Other(with_output(format!("the agent could not start: {reason}"), paths)))?;
        let encoded = serde_json::to_vec(&record).map_err(|e| other("encoding the agent's record", e));
        self.live().insert(id.to_string(), Live { record, child: Some(child) });
        let recorded = encoded.and_then(|bytes| {
            files::replace_with(&paths.root.join("agent.json.tmp"), &paths.record, &bytes)
                .map_err(|e| other("recording the agent", e))
        });
        let healthy = match recorded {
            Ok(()) => self.await_healthy(id, paths, &secret, spec.manifest.command.is_some(), deadline).await,
            Err(e) => Err(e.to_string()),
        };
        if let Err(reason) = healthy {
            self.terminate(id, paths, false).await;
            tracing::warn!(session = id, reason, "the session's agent did not start");
            return Err(PortError::Other(reason));
        }
        tracing::info!(session = id, sandboxed = self.sandboxed, "the session's agent is healthy");
        Ok(())
    }

    /// Polls `/health` until the agent answers healthy, exits, reports a failed command or
    /// `deadline` passes; the reason says which.
    async fn await_healthy(
        &self,
        id: &str,
        paths: &SessionPaths,
        secret: &str,
        expects_command: bool,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut pause = Duration::from_millis(5);
        loop {
            let Some(record) = self.record(id) else { return Err("the agent was stopped during its start".into()) };
            if !record.is_alive() {
                return Err(with_output("the agent exited during its start".into(), paths));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let last = match client::health(&paths.socket(), secret, left.min(REQUEST_TIMEOUT)).await {
                Ok(health) => match judge(&health, expects_command) {
                    Verdict::Healthy => return Ok(()),
                    Verdict::Fail(reason) => return Err(format!("the session's command could not start: {reason}")),
                    Verdict::Wait(reason) => reason,
                },
                Err(reason) => reason,
            };
            if Instant::now() >= deadline {
                let secs = self.start_timeout.as_secs_f32();
                return Err(with_output(format!("the agent was not healthy within {secs:.1}s ({last})"), paths));
            }
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// What a health answer means for a start.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Healthy,
    /// Not yet (the command was not tried yet).
    Wait(String),
    /// Waiting will not help.
    Fail(String),
}

/// Judges a health answer. The agent reports an error only when the command could not be
/// spawned at all (missing, not executable), which waiting does not mend, so the start fails at
/// once with that error. A command that ran and exited is restarted by the agent with backoff
/// and shows in its log; the session still starts. With a command configured, state `none`
/// means the agent has not tried it yet.
fn judge(health: &Health, expects_command: bool) -> Verdict {
    let Some(command) = &health.command else { return Verdict::Healthy };
    match (&command.error, command.state.as_str()) {
        (_, "running") => Verdict::Healthy,
        (Some(error), _) => Verdict::Fail(error.clone()),
        (None, "none") if expects_command => Verdict::Wait("the command has not started yet".into()),
        (None, _) => Verdict::Healthy,
    }
}

/// `reason` with the agent's last output lines, when it wrote any.
fn with_output(reason: String, paths: &SessionPaths) -> String {
    match agent_output_tail(paths) {
        tail if tail.is_empty() => reason,
        tail => format!("{reason}; the agent said:\n{tail}"),
    }
}

/// A fresh random generation (128 bits, hex).
fn fresh_generation() -> PortResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| other("drawing the agent's generation", e))?;
    Ok(hex::encode(bytes))
}

/// Start, stop and status of one session are serialised by a lock of its own.
#[async_trait]
impl RuntimeDriver for LocalRuntime {
    /// Boots the session's agent and waits for its health. A session whose agent already runs
    /// and answers is left as it is (`Ok`); one whose agent is alive but does not answer is
    /// killed and booted afresh. `Other(reason)` for a start that failed: the command cannot be
    /// spawned, the agent exited (its last output lines are in the reason) or was not healthy
    /// within `start_timeout`; nothing it started is left running then.
    #[tracing::instrument(skip_all, fields(session = %spec.session_id), err)]
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()> {
        let id = spec.session_id.as_str();
        let paths = SessionPaths::new(&self.sessions_dir, id)?;
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        if let Some(record) = self.record(id) {
            let secret = self.secret(id, &record.generation);
            if record.is_alive() && client::health(&paths.socket(), &secret, REQUEST_TIMEOUT).await.is_ok() {
                return Ok(());
            }
            self.terminate(id, &paths, false).await;
        }
        self.boot(spec, &paths).await
    }

    /// `POST /shutdown`, a few seconds for the agent to stop its command and exit, then SIGKILL
    /// for whatever is left (the sandbox's whole PID namespace, or the agent's process group and
    /// descendants), reaped. Stopping a session that does not run is `Ok`.
    #[tracing::instrument(skip_all, fields(session = %session), err)]
    async fn stop(&self, session: &SessionId) -> PortResult<()> {
        let Ok(paths) = SessionPaths::new(&self.sessions_dir, session.as_str()) else { return Ok(()) };
        let lock = self.lock_for(session.as_str());
        let _guard = lock.lock().await;
        self.terminate(session.as_str(), &paths, true).await;
        Ok(())
    }

    /// `Running` only while the agent's recorded processes live and its `/health` answers to the
    /// current secret. An agent that is alive but does not answer reads `Stopped` (a `stop`
    /// then kills it); one that died is forgotten and its leftovers are reaped.
    #[tracing::instrument(skip_all, fields(session = %session), err)]
    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus> {
        let id = session.as_str();
        let Ok(paths) = SessionPaths::new(&self.sessions_dir, id) else { return Ok(RuntimeStatus::Stopped) };
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let Some(record) = self.record(id) else { return Ok(RuntimeStatus::Stopped) };
        if !record.is_alive() {
            // It died on its own: reap what is left and forget it.
            self.terminate(id, &paths, false).await;
            return Ok(RuntimeStatus::Stopped);
        }
        let secret = self.secret(id, &record.generation);
        Ok(match client::health(&paths.socket(), &secret, REQUEST_TIMEOUT).await {
            Ok(health) => RuntimeStatus::Running { last_activity: health.last_activity_at.map(Timestamp) },
            Err(_) => RuntimeStatus::Stopped,
        })
    }

    /// The tail of `run/command.log` (after `command.log.1` when needed), read from the host side
    /// without following links; it works while the session is stopped.
    #[tracing::instrument(skip_all, fields(session = %session), err)]
    async fn logs(&self, session: &SessionId, max_bytes: usize) -> PortResult<String> {
        let Ok(paths) = SessionPaths::new(&self.sessions_dir, session.as_str()) else { return Ok(String::new()) };
        let max = max_bytes.min(MAX_LOGS);
        let (current, rotated) = (paths.command_log(), paths.command_log_rotated());
        let bytes = tokio::task::spawn_blocking(move || files::log_tail(&current, &rotated, max))
            .await
            .map_err(|e| other("reading the command's log", e))?
            .map_err(|e| other("reading the command's log", e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The host path of the agent's socket and the current secret, while its processes live.
    /// Connect with [`connect_agent_socket`](crate::connect_agent_socket): the session can
    /// replace the socket file with a symlink.
    fn endpoint(&self, session: &SessionId) -> Option<AgentEndpoint> {
        let id = session.as_str();
        let paths = SessionPaths::new(&self.sessions_dir, id).ok()?;
        let record = self.record(id).filter(|r| r.is_alive())?;
        let address = AgentAddress::Unix(path_string(&paths.socket())?);
        Some(AgentEndpoint { address, secret: self.secret(id, &record.generation) })
    }

    fn keeps_persisted_paths(&self) -> bool {
        true
    }

    /// `GET /persist` of the session's agent, streamed; the stream fails unless it ends with the
    /// agent's digest trailer matching what arrived.
    #[tracing::instrument(skip_all, fields(session = %session), err)]
    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        let (socket, secret) = self.agent_of(session)?;
        persist::save(&socket, &secret).await
    }

    /// `PUT /persist` of the session's agent, fed from `archive`.
    #[tracing::instrument(skip_all, fields(session = %session), err)]
    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        let (socket, secret) = self.agent_of(session)?;
        persist::restore(&socket, &secret, archive).await
    }
}

fn path_string(path: &Path) -> Option<String> {
    path.to_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::CommandHealth;

    fn health(state: &str, error: Option<&str>) -> Health {
        Health {
            status: "ok".into(),
            last_activity_at: None,
            command: Some(CommandHealth { state: state.into(), restarts: 0, error: error.map(str::to_string) }),
        }
    }

    #[test]
    fn a_start_waits_for_the_first_try_and_fails_on_a_spawn_error() {
        assert_eq!(judge(&health("running", None), true), Verdict::Healthy);
        assert_eq!(judge(&health("backoff", None), true), Verdict::Healthy, "it ran, then exited");
        assert!(matches!(judge(&health("none", None), true), Verdict::Wait(_)));
        assert_eq!(judge(&health("none", None), false), Verdict::Healthy);
        assert_eq!(
            judge(&health("backoff", Some("command `x` not found")), true),
            Verdict::Fail("command `x` not found".into())
        );
        assert_eq!(judge(&Health { command: None, ..health("none", None) }, true), Verdict::Healthy);
    }
}
