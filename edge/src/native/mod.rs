//! The native (self-hosted) shape: assembles its ports in one place ([`compose`]) and serves the
//! Router over TCP with read timeouts and graceful shutdown ([`start`]), with the job runner and
//! the reconcile timer beside it.

mod csrf_key;
mod idle_body;
mod runner;
pub mod runtime;
mod serve;
mod web;

pub use serve::Timeouts;

use crate::app::{router, AppState, ClientIpSource, Deployment};
use anyhow::Context;
pub use burstflare_adapters_local_runtime::SandboxMode;
use burstflare_adapters_local_runtime::{LocalRuntime, LocalRuntimeConfig};
use burstflare_adapters_memory::{MemoryBlobStore, MemoryStore};
use burstflare_adapters_sqlite::{FsBlobStore, SqliteStore};
use burstflare_adapters_system::{pooled_system_ports, HashPool, PooledHasher};
use burstflare_core::ports::{Clock, JobSource, Ports, RuntimeDriver, SystemPorts};
use burstflare_core::{Config, Service};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to run the native server.
#[derive(Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Where SQLite and blobs live; `None` keeps everything in memory (lost on exit).
    pub data_dir: Option<PathBuf>,
    /// Take the rate-limit identity from `x-forwarded-for` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How many proxies of ours append to `x-forwarded-for`: the client is the entry this far
    /// from the right (1, the right-most, when one proxy sits in front).
    pub trusted_proxy_hops: usize,
    pub force_secure_cookies: bool,
    /// The CSRF key; `None` uses (or creates) `csrf.key` in the data folder, or a random key.
    pub csrf_key: Option<String>,
    pub timeouts: Timeouts,
    pub service: Config,
    /// Replaces the system ports (clock, randomness, hasher), e.g. a cheaper hasher in tests.
    pub system: Option<SystemPorts>,
    /// How often the background reconcile pass runs (the local stand-in for the cron trigger).
    pub reconcile_every: Duration,
    /// The session runtime. `None` (the server binary today, until the local driver exists):
    /// starting a session answers 503 `runtime_unavailable`; the test suites plug a fake in.
    pub runtime: Option<Arc<dyn RuntimeDriver>>,
    /// Previews are served at `<session uuid>.<preview_domain>` on this server's port.
    pub preview_domain: String,
    /// Runs sessions as local processes (when `runtime` is `None` and there is a data folder).
    pub local_runtime: Option<LocalRuntimeSettings>,
}

/// How the local runtime runs sessions' agents.
#[derive(Debug, Clone)]
pub struct LocalRuntimeSettings {
    pub sandbox: SandboxMode,
    /// Program and arguments that start an agent reading its configuration from standard input.
    pub agent_command: Vec<std::ffi::OsString>,
    /// An agent not healthy within this fails its session's start.
    pub start_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: Some(PathBuf::from(".burstflare")),
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            force_secure_cookies: false,
            csrf_key: None,
            timeouts: Timeouts::default(),
            service: Config::default(),
            system: None,
            reconcile_every: Duration::from_secs(60),
            runtime: None,
            preview_domain: "preview.localhost".to_string(),
            local_runtime: None,
        }
    }
}

/// The application state and what the background runner needs.
pub struct Composed {
    pub state: AppState,
    pub jobs: Arc<dyn JobSource>,
    pub clock: Arc<dyn Clock>,
}

const HASH_THREADS: &str = "starting the password hashing threads";

/// Builds the application state: storage in SQLite and blob files under `data_dir`, or in memory;
/// jobs in that storage's own job table; the system ports with password hashing on a fixed pool
/// of threads that keep their memory, so it neither stalls the async workers nor grows the server.
pub async fn compose(config: &ServerConfig) -> anyhow::Result<Composed> {
    let workers = HashPool::default_workers();
    let system = match config.system.clone() {
        Some(system) => {
            let hasher = PooledHasher::other(system.hasher.clone(), workers).context(HASH_THREADS)?;
            SystemPorts { hasher: Arc::new(hasher), ..system }
        }
        None => pooled_system_ports(workers).context(HASH_THREADS)?,
    };
    tracing::debug!(threads = workers, "password hashing threads started");
    let (clock, random) = (system.clock.clone(), system.random.clone());
    let (ports, jobs, storage): (Ports, Arc<dyn JobSource>, &'static str) = match &config.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating data folder {}", dir.display()))?;
            let store = SqliteStore::open_in(dir)
                .await
                .map_err(|e| anyhow::anyhow!("opening the database in {}: {e}", dir.display()))?;
            let blobs =
                FsBlobStore::new(dir.join("blobs")).map_err(|e| anyhow::anyhow!("opening the blob store: {e}"))?;
            let queue = Arc::new(store.job_queue(clock.clone(), random.clone()));
            (Ports::new(store.storage(), Arc::new(blobs), queue, system), store.job_source(), "sqlite")
        }
        None => {
            let store = MemoryStore::new();
            let queue = Arc::new(store.job_queue(clock.clone(), random.clone()));
            let blobs = Arc::new(MemoryBlobStore::new());
            (Ports::new(store.storage(), blobs, queue, system), store.job_source(), "memory")
        }
    };
    let csrf = csrf_key::load(config.csrf_key.as_deref(), config.data_dir.as_deref(), random.as_ref())?;
    let client_ip = if config.trust_forwarded_for {
        ClientIpSource::ForwardedFor { trusted_hops: config.trusted_proxy_hops.max(1) }
    } else {
        ClientIpSource::Peer
    };
    let runtime = match (&config.runtime, &config.local_runtime, &config.data_dir) {
        (Some(runtime), _, _) => Some(runtime.clone()),
        (None, Some(local), Some(dir)) => Some(local_runtime(local, dir, &csrf, ports.blobs.clone())?),
        _ => None,
    };
    let runtime_available = runtime.is_some();
    let ports = match runtime {
        Some(runtime) => ports.with_runtime(runtime, csrf.session_keys()),
        None => ports,
    };
    let state = AppState {
        service: Service::new(ports, config.service.clone()),
        deployment: Deployment { storage, runtime_available, containers_enabled: false },
        client_ip,
        force_secure_cookies: config.force_secure_cookies,
        csrf,
        preview_domain: Some(config.preview_domain.as_str().into()),
    };
    Ok(Composed { state, jobs, clock })
}

/// The local driver over `<data dir>/sessions` (adopting the agents a previous run left running).
fn local_runtime(
    settings: &LocalRuntimeSettings,
    data_dir: &std::path::Path,
    csrf: &crate::csrf::CsrfKey,
    blobs: Arc<dyn burstflare_core::blob::BlobStore>,
) -> anyhow::Result<Arc<dyn RuntimeDriver>> {
    let runtime = LocalRuntime::new(LocalRuntimeConfig {
        sessions_dir: data_dir.join("sessions"),
        agent_command: settings.agent_command.clone(),
        sandbox: settings.sandbox,
        keys: csrf.session_keys(),
        blobs,
        start_timeout: settings.start_timeout,
    })
    .context("starting the local session runtime")?;
    if runtime.sandboxed() {
        tracing::info!("sessions run in a bubblewrap sandbox (own mount, PID and network namespaces)");
    }
    Ok(Arc::new(runtime))
}

/// A server running in the background of this process.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    reconciler: JoinHandle<()>,
    runner: JoinHandle<()>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.reconciler.abort();
        self.runner.abort();
    }
    /// Waits until the server stops (after `shutdown_signal` resolves).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.task.await;
        self.reconciler.abort();
        self.runner.abort();
        Ok(served??)
    }
}

/// Binds and serves in the background; use port 0 for a free port.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    let (tx, rx) = oneshot::channel::<()>();
    start_with_signal(config, async {
        let _ = rx.await;
    })
    .await
    .map(|mut server| {
        server.stop = Some(tx);
        server
    })
}

/// Like [`start`], stopping gracefully when `signal` resolves.
pub async fn start_with_signal(
    config: ServerConfig,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunningServer> {
    let Composed { state, jobs, clock } = compose(&config).await?;
    // A single process owns the jobs table: nothing can still be building from before a restart.
    match state.service.recover_interrupted_builds().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(builds = n, "requeued builds interrupted by the last shutdown"),
        Err(e) => tracing::warn!(error = %e, "could not requeue interrupted builds"),
    }
    let runner = tokio::spawn(runner::run(state.service.clone(), jobs, clock));
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let reconciler = tokio::spawn(reconcile_loop(state.service.clone(), config.reconcile_every));
    let previews = axum::middleware::from_fn_with_state(state.clone(), runtime::preview_host::route);
    if web::embedded() == 0 {
        tracing::warn!("the web app is not built into this binary: run scripts/build-web, then build again");
    }
    let app = router(state)
        .layer(axum::middleware::from_fn(web::route))
        .layer(previews)
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let task = tokio::spawn(serve::serve(listener, app, config.timeouts, signal));
    tracing::info!(%addr, storage = ?config.data_dir, "burstflare listening");
    Ok(RunningServer { addr, stop: None, task, reconciler, runner })
}

/// Runs a reconcile pass every `every`, logging what it removed; failures are logged and retried
/// at the next tick.
async fn reconcile_loop(service: Service, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match service.reconcile().await {
            Ok(purged) => tracing::info!(?purged, "reconcile pass"),
            Err(e) => tracing::warn!(error = %e, "reconcile pass failed"),
        }
    }
}
