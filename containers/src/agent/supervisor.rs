//! Runs the template's command in the workspace and keeps it running: restarts it with backoff
//! when it exits, records why it could not start, and stops its process group on shutdown.

use super::log::CommandLog;
use super::process::{group_of, signal_group, stop_group, SHUTDOWN_GRACE};
use crate::config::AgentConfig;
use crate::shell::session_env;
use rustix::process::Signal;
use serde::Serialize;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(30);
/// A command that ran this long starts its next backoff from the beginning.
const STABLE_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandState {
    /// No command configured, or it was stopped.
    None,
    Running,
    /// Waiting to start (again).
    Backoff,
}

/// What `/health` says of the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandStatus {
    pub state: CommandState,
    /// How many times it was started again after the first start.
    pub restarts: u32,
    /// Why the last start failed, if it did.
    pub error: Option<String>,
}

pub(crate) type SharedStatus = Arc<Mutex<CommandStatus>>;

pub(crate) fn new_status() -> SharedStatus {
    Arc::new(Mutex::new(CommandStatus { state: CommandState::None, restarts: 0, error: None }))
}

fn update(status: &SharedStatus, change: impl FnOnce(&mut CommandStatus)) {
    change(&mut status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
}

/// Supervises `program` (argv, no shell) until `stop` is cancelled, then stops it.
pub(crate) async fn supervise(
    program: Vec<String>,
    config: Arc<AgentConfig>,
    status: SharedStatus,
    log: Arc<CommandLog>,
    stop: CancellationToken,
) {
    let mut delay = FIRST_DELAY;
    for attempt in 0u32.. {
        if attempt > 0 {
            update(&status, |s| s.restarts += 1);
        }
        match spawn(&program, &config) {
            Ok(mut child) => {
                update(&status, |s| (s.state, s.error) = (CommandState::Running, None));
                log.line(&format!("command started (pid {})", child.id().unwrap_or(0)));
                let started = Instant::now();
                pump(child.stdout.take(), log.clone(), stop.clone());
                pump(child.stderr.take(), log.clone(), stop.clone());
                let group = group_of(&child);
                tokio::select! {
                    exit = child.wait() => {
                        // Whatever the command left behind in its group goes with it.
                        if let Some(group) = group {
                            signal_group(group, Signal::KILL);
                        }
                        if started.elapsed() >= STABLE_AFTER {
                            delay = FIRST_DELAY;
                        }
                        let how = exit.map(describe).unwrap_or_else(|e| format!("an unknown status ({e})"));
                        log.line(&format!("command exited with {how}; restarting in {}s", delay.as_secs()));
                    }
                    _ = stop.cancelled() => {
                        log.line("stopping the command");
                        stop_group(&mut child, &[Signal::TERM], SHUTDOWN_GRACE).await;
                        update(&status, |s| s.state = CommandState::None);
                        log.line("command stopped");
                        return;
                    }
                }
            }
            Err(error) => {
                log.line(&format!("{error}; retrying in {}s", delay.as_secs()));
                update(&status, |s| s.error = Some(error));
            }
        }
        update(&status, |s| s.state = CommandState::Backoff);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => {
                update(&status, |s| s.state = CommandState::None);
                return;
            }
        }
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// Starts the command in its own process group with only the session's environment.
fn spawn(program: &[String], config: &AgentConfig) -> Result<Child, String> {
    let (name, args) = program.split_first().ok_or_else(|| "the command is empty".to_string())?;
    Command::new(name)
        .args(args)
        .env_clear()
        .envs(session_env(config, &[]))
        .current_dir(&config.workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => format!("command `{name}` not found"),
            std::io::ErrorKind::PermissionDenied => format!("command `{name}` is not executable (permission denied)"),
            _ => format!("command `{name}` could not start: {error}"),
        })
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".to_string(),
    }
}

/// Copies one of the command's output pipes into the log until it closes or the agent stops.
fn pump(pipe: Option<impl AsyncRead + Unpin + Send + 'static>, log: Arc<CommandLog>, stop: CancellationToken) {
    let Some(mut pipe) = pipe else { return };
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            let read = tokio::select! {
                read = pipe.read(&mut buf) => read,
                _ = stop.cancelled() => return,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => log.append(&buf[..n]),
            }
        }
    });
}
