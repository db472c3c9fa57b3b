//! The agent itself: reads its configuration, prepares the workspace (the bundle), starts the
//! template's command under a supervisor and serves the edge on one listener until it is told to
//! stop (`POST /shutdown`, SIGTERM or SIGINT), then stops everything it started.

pub mod bundle;
mod bundle_upload;
mod http;
pub mod log;
pub mod persist;
pub mod persist_limits;
pub mod persist_restore;
mod preview;
mod process;
mod routes;
mod server;
mod ssh_route;
pub mod supervisor;
mod terminal;
mod websocket;

pub use self::http::Body;
pub use self::websocket::MAX_MESSAGE_BYTES;

use crate::activity::Activity;
use crate::config::{AgentConfig, CONFIG_ENV};
use crate::ws_stream::WsStream;
use anyhow::Context as _;
use futures_util::future::BoxFuture;
use std::io::Read;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Serves one SSH connection carried by a WebSocket (`GET /ssh`) until it ends.
pub type SshHandler = Arc<dyn Fn(WsStream) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// What every route shares.
pub(crate) struct Agent {
    pub config: Arc<AgentConfig>,
    pub activity: Activity,
    pub command: supervisor::SharedStatus,
    pub ssh_handler: SshHandler,
    /// Cancelled when the agent stops.
    pub stop: CancellationToken,
    /// Every connection, WebSocket and process the agent waits for when it stops.
    pub tasks: TaskTracker,
    /// Cancelled once the workspace holds the bundle (at once when none is uploaded): the
    /// command starts then.
    pub bundle_ready: CancellationToken,
    /// One upload at a time.
    pub bundle_lock: tokio::sync::Mutex<()>,
    /// One restore of the persisted paths at a time.
    pub persist_lock: tokio::sync::Mutex<()>,
    /// The number of the last archive of the persisted paths begun, and its digest once it was
    /// written to its end, for readers that cannot see trailers (`GET /persist/digest?archive=N`).
    pub last_archive: std::sync::Mutex<(u64, Option<String>)>,
}

/// The configuration from the `BURSTFLARE_AGENT_CONFIG` environment variable when it is set,
/// else from standard input (read to its end). Nothing the agent starts inherits the agent's
/// environment, so the variable does not leak to the user's processes.
pub fn read_config() -> anyhow::Result<AgentConfig> {
    let text = match std::env::var(CONFIG_ENV) {
        Ok(text) => text,
        Err(_) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("could not read the configuration from standard input")?;
            text
        }
    };
    parse_config(&text)
}

/// Parses the configuration JSON (see [`AgentConfig`]).
pub fn parse_config(text: &str) -> anyhow::Result<AgentConfig> {
    let config: AgentConfig = serde_json::from_str(text).context("the agent configuration is not valid")?;
    config.host_key_seed().map_err(anyhow::Error::msg).context("the agent configuration is not valid")?;
    anyhow::ensure!(!config.secret.is_empty(), "the agent configuration is not valid: the secret is empty");
    Ok(config)
}

/// Runs the agent until `POST /shutdown`, SIGTERM or SIGINT; see [`run_with`].
pub async fn run(config: AgentConfig, ssh_handler: SshHandler) -> anyhow::Result<()> {
    run_with(config, Activity::new(), ssh_handler, termination_signal()).await
}

/// Completes at the first SIGTERM or SIGINT to the process (never, if they cannot be watched).
pub async fn termination_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::warn!("cannot watch SIGTERM and SIGINT");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
    }
}

/// Runs the agent with `activity` as its record of use (shared with whoever else records use,
/// such as the SSH server) until `POST /shutdown` or until `stop_signal` completes, then stops
/// what it started (the command, terminals, connections). Returns `Ok` after a clean stop, or
/// the reason it could not start (a bad bundle, a listener that cannot be bound, an invalid
/// configuration).
pub async fn run_with(
    config: AgentConfig,
    activity: Activity,
    ssh_handler: SshHandler,
    stop_signal: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    config.host_key_seed().map_err(anyhow::Error::msg).context("invalid configuration")?;
    anyhow::ensure!(!config.secret.is_empty(), "invalid configuration: the secret is empty");
    for dir in [&config.workspace, &config.state_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let bundle_ready = CancellationToken::new();
    if !config.bundle_upload {
        let (bundle, workspace, state) = (config.bundle.clone(), config.workspace.clone(), config.state_dir.clone());
        let unpacked =
            tokio::task::spawn_blocking(move || bundle::unpack_once(bundle.as_deref(), &workspace, &state)).await??;
        if let bundle::Unpacked::Now(sha256) = &unpacked {
            tracing::info!(%sha256, workspace = %config.workspace.display(), "bundle unpacked");
        }
        bundle_ready.cancel();
    }
    let listener = server::Listener::bind(&config.listen).await?;
    let agent = Arc::new(Agent {
        config: Arc::new(config),
        activity,
        command: supervisor::new_status(),
        ssh_handler,
        stop: CancellationToken::new(),
        tasks: TaskTracker::new(),
        bundle_ready,
        bundle_lock: tokio::sync::Mutex::new(()),
        persist_lock: tokio::sync::Mutex::new(()),
        last_archive: std::sync::Mutex::new((0, None)),
    });
    if let Some(program) = agent.config.command.clone() {
        let log = Arc::new(log::CommandLog::new(&agent.config.state_dir));
        let task = supervisor::supervise(program, agent.config.clone(), agent.command.clone(), log, agent.stop.clone());
        let (ready, stop) = (agent.bundle_ready.clone(), agent.stop.clone());
        // An uploaded bundle comes first: the command runs in the workspace it fills.
        agent.tasks.spawn(async move {
            tokio::select! {
                () = ready.cancelled() => task.await,
                () = stop.cancelled() => {}
            }
        });
    }
    tracing::info!(session = %agent.config.session_id, listen = ?agent.config.listen, "agent ready");
    server::serve(agent.clone(), listener, stop_signal).await;
    agent.tasks.close();
    if tokio::time::timeout(process::SHUTDOWN_GRACE * 2, agent.tasks.wait()).await.is_err() {
        tracing::warn!("some connections did not finish in time; leaving them");
    }
    tracing::info!("agent stopped");
    Ok(())
}
