//! Starting one agent process: in the sandbox (through `bwrap`, learning the sandbox's init pid
//! from its `--info-fd`) or plain, with an empty environment (no secret of the server leaks into
//! a session), in a process group of its own, its output in the host-only `agent.log` and its
//! configuration written to its standard input.

use crate::files;
use crate::layout::SessionPaths;
use crate::process::{AgentRecord, ProcId};
use crate::sandbox::{self, SandboxMounts};
use command_fds::{CommandFdExt, FdMapping};
use nix::fcntl::OFlag;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// The descriptor `bwrap` reports the sandbox's init pid on, inside the spawned process.
const INFO_FD: i32 = 3;
/// The most of `bwrap`'s info read.
const MAX_INFO: usize = 16 * 1024;

/// One agent to start.
pub(crate) struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub sandboxed: bool,
    pub paths: &'a SessionPaths,
    pub config_json: &'a [u8],
    pub generation: String,
    /// How long `bwrap` may take to report the sandbox's init pid.
    pub info_timeout: Duration,
}

/// Spawns the agent. On `Err` nothing it started is left running.
pub(crate) async fn spawn(launch: Launch<'_>) -> Result<(Child, AgentRecord), String> {
    let log = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(&launch.paths.agent_log)
        .map_err(|e| format!("opening the agent's log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| format!("opening the agent's log: {e}"))?;
    let mut command;
    let mut info = None;
    if launch.sandboxed {
        let mounts = SandboxMounts {
            workspace: launch.paths.workspace.clone(),
            run: launch.paths.run.clone(),
            agent: launch.program.to_path_buf(),
        };
        command = Command::new(sandbox::BWRAP);
        command.args(sandbox::bwrap_args(&mounts, Some(INFO_FD))).arg(sandbox::AGENT_PATH);
        let (read, write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("making the sandbox's info pipe: {e}"))?;
        command
            .fd_mappings(vec![FdMapping { parent_fd: write, child_fd: INFO_FD }])
            .map_err(|e| format!("passing the sandbox's info pipe: {e}"))?;
        info = Some(read);
    } else {
        command = Command::new(launch.program);
        // The agent binds its socket by name in its run folder (see `agent_config`).
        command.current_dir(&launch.paths.run);
    }
    command
        .args(launch.args)
        .env_clear()
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    let spawned = command.spawn();
    // Closes this side's copy of the info pipe's write end, so a `bwrap` that dies says EOF.
    drop(command);
    let mut child = spawned.map_err(|e| format!("starting the agent ({}): {e}", launch.program.display()))?;
    match finish(&mut child, launch, info).await {
        Ok(record) => Ok((child, record)),
        Err(reason) => {
            if let Some(pid) = child.id() {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::SIGKILL);
            }
            let _ = child.wait().await;
            Err(reason)
        }
    }
}

/// Gives the spawned process its configuration and learns what to record about it.
async fn finish(
    child: &mut Child,
    launch: Launch<'_>,
    info: Option<std::os::fd::OwnedFd>,
) -> Result<AgentRecord, String> {
    let pid = child.id().ok_or("the agent exited at once")? as i32;
    let process = ProcId::of(pid).ok_or("the agent exited at once")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A failed write means the process already exited: the health wait reports why.
        let _ = stdin.write_all(launch.config_json).await;
        let _ = stdin.shutdown().await;
    }
    let mut init = None;
    if let Some(read) = info {
        let pid = tokio::time::timeout(launch.info_timeout, read_init_pid(read))
            .await
            .map_err(|_| "the sandbox did not report its init process in time".to_string())??;
        init = Some(ProcId::of(pid).ok_or("the sandbox's init process exited at once")?);
    }
    Ok(AgentRecord { process, init, generation: launch.generation, sandboxed: launch.sandboxed })
}

/// Reads `bwrap`'s info JSON (`{"child-pid": N, …}`) from the pipe, stopping at the end of the
/// first JSON value (the pipe may stay open in the sandbox).
async fn read_init_pid(read: std::os::fd::OwnedFd) -> Result<i32, String> {
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(read)
        .map_err(|e| format!("reading the sandbox's info: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = pipe.read(&mut chunk).await.map_err(|e| format!("reading the sandbox's info: {e}"))?;
        if n == 0 {
            return Err("the sandbox exited before it started the agent".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut values = serde_json::Deserializer::from_slice(&buf).into_iter::<serde_json::Value>();
        match values.next() {
            Some(Ok(value)) => {
                return value
                    .get("child-pid")
                    .and_then(|p| p.as_i64())
                    .and_then(|p| i32::try_from(p).ok())
                    .ok_or_else(|| "the sandbox's info has no child-pid".to_string())
            }
            Some(Err(e)) if !e.is_eof() => return Err(format!("the sandbox's info is unreadable: {e}")),
            _ if buf.len() > MAX_INFO => return Err("the sandbox's info is too long".into()),
            _ => {}
        }
    }
}

/// The last lines the agent wrote to its own log, for a failure's reason.
pub(crate) fn agent_output_tail(paths: &SessionPaths) -> String {
    let bytes = files::tail(&paths.agent_log, 4096).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}
