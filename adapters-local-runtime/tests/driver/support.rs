//! What the driver's end-to-end tests share: the agent this test binary becomes when the driver
//! starts it, a fresh data folder per test, specs, a raw HTTP client for the agent's socket, and
//! the lookups that prove no process is left behind.

use burstflare_adapters_local_runtime::{LocalRuntime, LocalRuntimeConfig, SandboxMode};
use burstflare_adapters_memory::MemoryBlobStore;
use burstflare_containers::agent::{self, SshHandler};
use burstflare_core::blob::{BlobStore, BytesBody};
use burstflare_core::ids::{SessionId, TemplateId, VersionId, WorkspaceId};
use burstflare_core::manifest::Manifest;
use burstflare_core::ports::RuntimeSpec;
use burstflare_core::session_keys::SessionKeys;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs as the session agent (what `agent_command` starts): the real agent, reading its
/// configuration from standard input; SSH connections are closed (not under test here).
pub fn agent_main() -> ExitCode {
    let ssh: SshHandler = Arc::new(|_stream| Box::pin(async { Ok(()) }));
    let ran = agent::read_config().and_then(|config| {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(agent::run(config, ssh))
    });
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One test's world: a data folder, a blob store and a token that marks its processes.
pub struct World {
    pub dir: tempfile::TempDir,
    pub mode: SandboxMode,
    pub token: String,
    pub blobs: Arc<MemoryBlobStore>,
    pub keys: SessionKeys,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl World {
    pub fn new(mode: SandboxMode) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self {
            dir: tempfile::tempdir().unwrap(),
            mode,
            token: format!("bf-driver-test-{}-{n}", std::process::id()),
            blobs: Arc::new(MemoryBlobStore::new()),
            keys: SessionKeys::new(&[42; 32]),
        }
    }

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    /// The configuration of a driver whose agents are this binary in `role` (`agent`, `hang`,
    /// `crash`), marked with the test's token.
    pub fn config(&self, role: &str, start_timeout: Duration) -> LocalRuntimeConfig {
        let exe = std::env::current_exe().unwrap();
        LocalRuntimeConfig {
            sessions_dir: self.sessions(),
            agent_command: vec![exe.into(), role.into(), self.token.clone().into()],
            sandbox: self.mode,
            keys: self.keys.clone(),
            blobs: self.blobs.clone(),
            start_timeout,
        }
    }

    pub fn runtime_as(&self, role: &str, start_timeout: Duration) -> LocalRuntime {
        LocalRuntime::new(self.config(role, start_timeout)).unwrap()
    }

    pub fn runtime(&self) -> LocalRuntime {
        self.runtime_as("agent", Duration::from_secs(15))
    }

    pub async fn put_bundle(&self, key: &str, files: &[(&str, &str)]) {
        let bytes = tar_gz(files);
        self.blobs.put(key, "application/gzip", &mut BytesBody::new(bytes), 1 << 20).await.unwrap();
    }

    pub fn spec(&self, id: &str, command: Option<&[&str]>, bundle_key: Option<&str>) -> RuntimeSpec {
        RuntimeSpec {
            session_id: SessionId::from_raw(id),
            workspace_id: WorkspaceId::from_raw("ws_test"),
            template_id: TemplateId::from_raw("tpl_test"),
            version_id: VersionId::from_raw("tplv_test"),
            manifest: Manifest {
                image: "local".into(),
                features: Vec::new(),
                persisted_paths: Vec::new(),
                sleep_ttl_seconds: None,
                idle_timeout_seconds: None,
                command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
                preview_port: None,
                env: BTreeMap::from([("GREETING".to_string(), "hello-from-env".to_string())]),
            },
            bundle_key: bundle_key.map(str::to_string),
        }
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.sessions().join(id)
    }

    /// The session's `agent.json`, if any.
    pub fn record(&self, id: &str) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.session_dir(id).join("agent.json")).ok()?;
        Some(serde_json::from_slice(&bytes).unwrap())
    }

    /// Live processes started for this test (their command lines carry its token).
    pub fn processes_left(&self) -> Vec<i32> {
        let mut left = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&self.token) && !is_zombie(pid) {
                left.push(pid);
            }
        }
        left
    }

    /// Waits (briefly) until no process of this test is left; returns those that are.
    pub async fn wait_no_processes(&self) -> Vec<i32> {
        for _ in 0..100 {
            if self.processes_left().is_empty() {
                return Vec::new();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.processes_left()
    }

    /// Stops whatever this test left running: a fresh driver adopts it and stops it.
    pub async fn clean_up(&self) {
        if self.sessions().exists() {
            self.runtime().shutdown_all().await;
        }
    }
}

pub fn is_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    match stat.rfind(')') {
        Some(i) => matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X') | None),
        None => true,
    }
}

/// Every process descended from `root` (walking parent pids in `/proc`).
pub fn descendants(root: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.split_off(1)
}

/// True while `pid` runs (a zombie does not).
pub fn running(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid as i32)
}

/// `GET path` on the agent's socket with `secret`: the status and the body.
pub async fn agent_get(socket: &str, secret: &str, path: &str) -> (u16, String) {
    let (socket, secret, path) = (socket.to_string(), secret.to_string(), path.to_string());
    tokio::task::spawn_blocking(move || {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: agent\r\nx-burstflare-agent-secret: {secret}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, contents.as_bytes()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}
