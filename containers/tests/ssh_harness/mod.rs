//! What the SSH tests share: the agent's SSH server behind a test-only TCP listener (TCP is just
//! the test's transport; the agent gets its streams from WebSockets), a known-hosts file pinning
//! its key, and the real OpenSSH clients run with that file, each stopped through its own handle.

#![allow(dead_code)]

use burstflare_containers::activity::Activity;
use burstflare_containers::ssh::{serve, SshContext};
use burstflare_core::session_keys::openssh_ed25519_public;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub const SEED: [u8; 32] = [7; 32];
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Server {
    pub port: u16,
    pub activity: Activity,
    pub workspace: TempDir,
    pub home: TempDir,
    /// What each `serve` call returned, in the order connections ended.
    pub ended: mpsc::UnboundedReceiver<anyhow::Result<()>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    /// Starts a server whose host key is [`SEED`]'s and pins `pinned_seed` for the clients.
    pub async fn start_pinning(pinned_seed: [u8; 32]) -> Self {
        let workspace = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let activity = Activity::new();
        let env = BTreeMap::from([
            ("HOME".to_string(), workspace.path().display().to_string()),
            ("PATH".to_string(), burstflare_containers::shell::DEFAULT_PATH.to_string()),
            ("GREETING".to_string(), "hello from the manifest".to_string()),
        ]);
        let ctx = Arc::new(SshContext {
            host_key_seed: SEED,
            workspace: workspace.path().to_path_buf(),
            shell: PathBuf::from("/bin/sh"),
            env,
            activity: activity.clone(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, ended) = mpsc::unbounded_channel();
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (ctx, tx) = (ctx.clone(), tx.clone());
                connections.spawn(async move {
                    let _ = tx.send(serve(stream, ctx).await);
                });
            }
        });
        let line = format!("[127.0.0.1]:{port} {}\n", openssh_ed25519_public(&pinned_seed));
        std::fs::write(home.path().join("known_hosts"), line).unwrap();
        Self { port, activity, workspace, home, ended, accept }
    }

    pub async fn start() -> Self {
        Self::start_pinning(SEED).await
    }

    /// The options every client gets: no user configuration, the pinned key, no prompts.
    pub fn options(&self) -> Vec<String> {
        let known_hosts = self.home.path().join("known_hosts");
        [
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            &format!("UserKnownHostsFile={}", known_hosts.display()),
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// `ssh [extra…] -p PORT user@127.0.0.1 [command]`, as a command not yet started.
    pub fn ssh(&self, extra: &[&str], command: Option<&str>) -> tokio::process::Command {
        let mut ssh = client("/usr/bin/ssh", &self.home);
        ssh.args(self.options()).args(extra).args(["-p", &self.port.to_string(), "user@127.0.0.1"]);
        ssh.args(command);
        ssh
    }

    /// `scp` or `sftp` with the pinned options and the server's port.
    pub fn file_client(&self, program: &str) -> tokio::process::Command {
        let mut cmd = client(program, &self.home);
        cmd.args(self.options()).args(["-P", &self.port.to_string()]);
        cmd
    }

    pub fn workspace(&self) -> &Path {
        self.workspace.path()
    }
}

fn client(program: &str, home: &TempDir) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env("HOME", home.path()).kill_on_drop(true).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Runs a client to completion with `input` on its stdin; killed (through its handle, when the
/// future is dropped) if it takes longer than a minute.
pub async fn run(mut cmd: tokio::process::Command, input: Option<Vec<u8>>) -> Output {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("start the client");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    tokio::time::timeout(CLIENT_TIMEOUT, child.wait_with_output()).await.expect("the client finished in time").unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Pseudo-random bytes (a fixed xorshift sequence), so a mangled transfer cannot look right.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
