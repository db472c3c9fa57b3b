//! A server under test as a child process: started (pinned to some cores with `taskset` when
//! asked and available), awaited until it prints its `listening on http://…` line, read for its
//! memory use from `/proc/PID/status`, and stopped with SIGTERM.

use anyhow::{bail, Context};
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server may take to print its readiness line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A free loopback address (the port is released again, and taken by the server just after).
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Whether `taskset` is there to pin processes with.
pub fn taskset_available() -> bool {
    std::process::Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// `program args…`, under `taskset -c cpus` when `cpus` is given.
pub fn command(program: &Path, args: &[String], cpus: Option<&str>) -> Command {
    let mut cmd = match cpus {
        Some(cpus) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(cpus).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    cmd.args(args);
    cmd
}

/// Memory of a process, in KiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Resident now.
    pub rss_kib: u64,
    /// Peak resident (high-water mark) over the process's life.
    pub peak_kib: u64,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pid: u32,
}

impl Server {
    /// Spawns `cmd` with stderr (its log) going to `log` and waits for its readiness line.
    /// `taskset` execs the server, so the child's pid is the server's.
    pub async fn start(mut cmd: Command, log: &Path) -> anyhow::Result<Server> {
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log_file).kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("listening on http://") {
                    return Ok(true);
                }
            }
            Ok::<_, std::io::Error>(false)
        });
        match ready.await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => bail!("{cmd:?} exited before it was ready; see {}", log.display()),
            Ok(Err(e)) => return Err(e).context("reading the server's stdout"),
            Err(_) => bail!("{cmd:?} not ready within {START_TIMEOUT:?}; see {}", log.display()),
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, pid })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("no {name}"))?;
            let kib = line.trim_start_matches(name).trim().trim_end_matches("kB").trim();
            Ok(kib.parse()?)
        };
        Ok(Memory { rss_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
    }

    /// Sends SIGTERM and waits for the exit (killing the server if it does not go in time).
    pub async fn stop(mut self) -> anyhow::Result<ExitStatus> {
        let sent = std::process::Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status()?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.kill().await?;
                bail!("server {} did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed", self.pid)
            }
        }
    }
}

/// The `burstflare-server` binary: `explicit`, or the one next to this bench; it must exist
/// (`script` is the command that builds it, for the error message).
pub fn server_binary(explicit: Option<&Path>, script: &str) -> anyhow::Result<std::path::PathBuf> {
    let bin = match explicit {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("burstflare-server"),
    };
    if !bin.is_file() {
        anyhow::bail!("{} not found: build it first ({script} does)", bin.display());
    }
    Ok(bin)
}

/// Starts `burstflare-server` on a free loopback port over a fresh data folder inside `work_dir`
/// (trusting `x-forwarded-for`, JSON logs to `work_dir/<log>`). The folder lives as long as the
/// returned guard.
pub async fn start_fresh(
    bin: &Path,
    work_dir: &Path,
    name: &str,
    cpus: Option<&str>,
) -> anyhow::Result<(Server, SocketAddr, tempfile::TempDir)> {
    start_fresh_with(bin, work_dir, name, cpus, &[]).await
}

/// [`start_fresh`] with more arguments for the server.
pub async fn start_fresh_with(
    bin: &Path,
    work_dir: &Path,
    name: &str,
    cpus: Option<&str>,
    extra: &[String],
) -> anyhow::Result<(Server, SocketAddr, tempfile::TempDir)> {
    let data = tempfile::Builder::new().prefix(&format!("data-{name}-")).tempdir_in(work_dir)?;
    let addr = free_loopback_addr()?;
    let args = [
        "--listen".to_string(),
        addr.to_string(),
        "--data-dir".to_string(),
        data.path().display().to_string(),
        "--log-format".to_string(),
        "json".to_string(),
        "--trust-forwarded-for".to_string(),
    ];
    let args: Vec<String> = args.into_iter().chain(extra.iter().cloned()).collect();
    let log = work_dir.join(format!("server-{name}.log"));
    let server = Server::start(command(bin, &args, cpus), &log).await?;
    Ok((server, addr, data))
}
