//! Shared by the CLI tests: a real native BurstFlare server (SQLite in a temp folder) per test,
//! and the real `burstflare` binary run against it, each user with their own config file and
//! their own `X-Forwarded-For` address per process so the server's per-IP rate limits never
//! trip.
#![allow(dead_code)]

use burstflare_edge::native::{start, LocalRuntimeSettings, SandboxMode, ServerConfig};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use tempfile::TempDir;

/// The password every test user has.
pub const PASSWORD: &str = "correct horse battery";

/// A server on a free port, stopped when dropped; or, with `BURSTFLARE_TEST_URL` set, the
/// deployment at that URL (e.g. the Worker under workerd), where users get unique emails.
pub struct TestServer {
    url: String,
    external: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The real local runtime's settings (`None`: the fake driver).
    local: Option<LocalRuntimeSettings>,
    /// The use cases' settings (limits).
    service: burstflare_core::Config,
    data: TempDir,
}

/// The server binary, built beside the CLI binary (the local runtime runs it as each session's
/// agent: `burstflare-server agent`). `cargo test --workspace` and `./scripts/test` build it.
pub fn server_binary() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_burstflare"));
    let server = cli.with_file_name("burstflare-server");
    assert!(server.exists(), "{} is missing: run `cargo build -p burstflare-edge` first", server.display());
    server
}

impl TestServer {
    /// A server whose sessions run on the fake driver.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A server whose sessions run for real: agents started by the local runtime, sandboxed or not.
    pub fn with_local_runtime(sandbox: SandboxMode) -> Self {
        Self::with_local_runtime_and(sandbox, burstflare_core::Config::default())
    }

    /// [`with_local_runtime`](Self::with_local_runtime) with other use-case settings (limits).
    pub fn with_local_runtime_and(sandbox: SandboxMode, service: burstflare_core::Config) -> Self {
        let local = LocalRuntimeSettings {
            sandbox,
            agent_command: vec![server_binary().into_os_string(), "agent".into()],
            start_timeout: std::time::Duration::from_secs(20),
        };
        Self::launch_with(Some(local), service)
    }

    fn launch(local: Option<LocalRuntimeSettings>) -> Self {
        Self::launch_with(local, burstflare_core::Config::default())
    }

    fn launch_with(local: Option<LocalRuntimeSettings>, service: burstflare_core::Config) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        if let Some(url) = std::env::var("BURSTFLARE_TEST_URL").ok().filter(|u| !u.is_empty()) {
            return Self { url, external: true, stop: None, thread: None, local: None, service, data };
        }
        let mut server = Self { url: String::new(), external: false, stop: None, thread: None, local, service, data };
        server.serve("127.0.0.1:0".parse().unwrap());
        server
    }

    /// Runs the server on `listen` over the same data folder.
    fn serve(&mut self, listen: std::net::SocketAddr) {
        let data_dir = self.data.path().to_path_buf();
        let local = self.local.clone();
        let service = self.service.clone();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let fake = std::sync::Arc::new(burstflare_adapters_memory::FakeRuntime::new());
                let config = ServerConfig {
                    listen,
                    data_dir: Some(data_dir),
                    trust_forwarded_for: true,
                    runtime: if local.is_some() { None } else { Some(fake) },
                    local_runtime: local,
                    service,
                    ..Default::default()
                };
                let server = start(config).await.expect("the server starts");
                url_tx.send(server.url()).unwrap();
                let _ = stop_rx.await;
                server.shutdown().await;
            });
        });
        self.url = url_rx.recv().expect("the server failed to start");
        self.stop = Some(stop_tx);
        self.thread = Some(thread);
    }

    /// Stops the server and starts a new one on the same address and data (sessions' agents
    /// keep running in between, as they do when the real server restarts).
    pub fn restart(&mut self) {
        self.halt();
        let addr = self.url.trim_start_matches("http://").parse().expect("the server's address");
        self.serve(addr);
    }

    /// The data folder (sessions live in `sessions/` below it).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether sessions can run here: the in-process server always can (on the fake runtime or
    /// the local one); a deployment at `BURSTFLARE_TEST_URL` when `BURSTFLARE_TEST_RUNTIME`
    /// says it has containers.
    pub fn runs_sessions(&self) -> bool {
        !self.external || self.has_containers()
    }

    /// Whether this is the deployment at `BURSTFLARE_TEST_URL`, not an in-process server.
    pub fn is_external(&self) -> bool {
        self.external
    }

    /// Whether sessions run in containers on a local Docker engine (`BURSTFLARE_TEST_RUNTIME=containers`,
    /// set by `scripts/test-worker` for the Worker under `wrangler dev`).
    pub fn has_containers(&self) -> bool {
        self.external && std::env::var("BURSTFLARE_TEST_RUNTIME").is_ok_and(|r| r == "containers")
    }

    /// Kills the session's runtime the hard way, behind the server's back: the agent process
    /// (by the pid its driver recorded), or the session's container (found by the session id in
    /// its configuration).
    pub fn kill_runtime(&self, session: &str) {
        if self.has_containers() {
            return kill_container(session);
        }
        let record = std::fs::read(self.data_dir().join("sessions").join(session).join("agent.json")).unwrap();
        let record: Value = serde_json::from_slice(&record).unwrap();
        let pid = record["process"]["pid"].as_i64().unwrap().to_string();
        assert!(Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    }
}

/// `docker kill` of the one running container whose agent configuration names `session`.
fn kill_container(session: &str) {
    let found = session_containers(session, false);
    assert_eq!(found.len(), 1, "one container runs session {session}: {found:?}");
    docker(&["kill", &found[0]]);
}

/// The local Docker engine's containers (running ones, or all with `all`) whose agent
/// configuration names `session`.
pub fn session_containers(session: &str, all: bool) -> Vec<String> {
    let ids = docker(if all { &["ps", "-aq", "--no-trunc"] } else { &["ps", "-q", "--no-trunc"] });
    let needle = format!("\"sessionId\":\"{session}\"");
    ids.split_whitespace()
        .filter(|id| {
            // A container removed since the listing is not one of them.
            let env = Command::new("docker")
                .args(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", id])
                .output()
                .expect("the docker CLI runs");
            String::from_utf8_lossy(&env.stdout).contains(&needle)
        })
        .map(str::to_string)
        .collect()
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.halt();
        if let Some(local) = &self.local {
            stop_agents(self.data.path(), local);
        }
    }
}

/// Stops every agent the server's runtime left running (agents outlive the server on purpose),
/// through a driver adopting them, which signals only processes it verifies as its own.
fn stop_agents(data: &std::path::Path, local: &LocalRuntimeSettings) {
    use burstflare_adapters_local_runtime::{LocalRuntime, LocalRuntimeConfig};
    let sessions = data.join("sessions");
    if !sessions.exists() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let config = LocalRuntimeConfig {
            sessions_dir: sessions,
            agent_command: local.agent_command.clone(),
            sandbox: local.sandbox,
            keys: burstflare_core::session_keys::SessionKeys::new(b"only stopping, never starting...."),
            blobs: std::sync::Arc::new(burstflare_adapters_memory::MemoryBlobStore::new()),
            start_timeout: local.start_timeout,
        };
        if let Ok(driver) = LocalRuntime::new(config) {
            driver.shutdown_all().await;
        }
    });
}

/// A distinct private address per CLI process.
fn next_client_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// One person at one terminal: the `burstflare` binary with their own config file.
pub struct User {
    pub email: String,
    url: String,
    home: TempDir,
}

impl User {
    pub fn new(server: &TestServer, email: &str) -> Self {
        let email = if server.external { unique(email) } else { email.to_string() };
        Self { email, url: server.url().to_string(), home: tempfile::tempdir().unwrap() }
    }

    /// Where this user's config lives (a folder the CLI has to create).
    pub fn config_path(&self) -> PathBuf {
        self.home.path().join("burstflare").join("config.json")
    }

    /// The binary with this user's config and server, and nothing inherited that could change
    /// what it does.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_burstflare"));
        command
            .args(args)
            .env("BURSTFLARE_URL", &self.url)
            .env("BURSTFLARE_CONFIG", self.config_path())
            .env("BURSTFLARE_FORWARDED_FOR", next_client_ip())
            .env("XDG_CONFIG_HOME", self.home.path())
            .env_remove("BURSTFLARE_PASSWORD")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("the binary runs").into()
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap().into()
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(self.run(args), args)
    }

    /// Runs with `--json` and requires success; returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let stdout = self.ok(&with_json);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed invalid JSON ({e}):\n{stdout}"))
    }

    /// Runs and requires exit status 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(1), "{args:?} should fail: {run:?}");
        run.stderr
    }

    /// Registers this user with [`PASSWORD`] read from stdin.
    pub fn register(&self) -> String {
        let args = ["auth", "register", "--email", &self.email, "--password-stdin"];
        succeeded(self.run_with_stdin(&args, &format!("{PASSWORD}\n")), &args)
    }

    pub fn config(&self) -> Value {
        let text = std::fs::read_to_string(self.config_path()).expect("a config file");
        serde_json::from_str(&text).expect("the config is JSON")
    }

    pub fn set_config(&self, config: &Value) {
        std::fs::write(self.config_path(), serde_json::to_string_pretty(config).unwrap()).unwrap();
    }

    /// A string field of the config file.
    pub fn config_field(&self, key: &str) -> String {
        self.config()[key].as_str().unwrap_or_default().to_string()
    }
}

pub fn succeeded(run: Run, args: &[&str]) -> String {
    assert_eq!(run.code, Some(0), "{args:?} failed: {run:?}");
    run.stdout
}

/// `ada@example.com` → `ada.<nanos>.<n>@example.com`, for a shared deployment.
fn unique(email: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let (local, domain) = email.split_once('@').unwrap_or((email, "example.com"));
    format!("{local}.{nanos}.{n}@{domain}")
}
