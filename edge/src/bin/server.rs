//! `burstflare-server`: the self-hosted BurstFlare control plane. Listens on 127.0.0.1:8787 and
//! keeps its data (SQLite) under `./.burstflare` unless told otherwise by flags or environment.

use anyhow::Context;
use burstflare_edge::native::{start_with_signal, LocalRuntimeSettings, SandboxMode, ServerConfig, Timeouts};
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// mimalloc instead of glibc's allocator: requests allocate and free many small objects on both
/// cores, and glibc's arenas showed as lock waits and consolidation in the write path's profile
/// (invites ~11.5k → ~13.7k req/s, BENCHMARKS.md "The allocator, again").
///
/// Built with the `mimalloc` crate's `no_thp` feature (in `edge/Cargo.toml`; nothing to set at run
/// time): mimalloc then never asks for transparent huge pages (`madvise(MADV_HUGEPAGE)` on its
/// arenas), so a touched byte costs a 4 KiB page, not a 2 MiB one. With the default build the
/// server sat at 78 MiB after a login storm, past its 64 MiB budget; with `no_thp` it stays at
/// glibc's level (~60 MiB). Hosts whose THP policy is `always` may still back the arenas with huge
/// pages, as they may glibc's heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Sandbox {
    /// bubblewrap when it works on this host, else plain processes with a warning
    Auto,
    /// always bubblewrap (refuse to start without it)
    Bwrap,
    /// plain processes: no isolation from the host
    Plain,
}

#[derive(Debug, clap::Subcommand)]
enum ServerCommand {
    /// Run a session agent (what the local runtime starts for each session; reads its
    /// configuration from standard input)
    #[command(hide = true)]
    Agent,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

/// The BurstFlare control plane, self-hosted.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BURSTFLARE_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Folder for the database and blobs (created if missing).
    #[arg(long, env = "BURSTFLARE_DATA_DIR", default_value = ".burstflare")]
    data_dir: PathBuf,
    /// Keep everything in memory instead (lost on exit).
    #[arg(long, env = "BURSTFLARE_EPHEMERAL", conflicts_with = "data_dir")]
    ephemeral: bool,
    /// Rate-limit by the `x-forwarded-for` entry your proxy added; only behind a proxy you trust.
    #[arg(long, env = "BURSTFLARE_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// With --trust-forwarded-for: how many proxies of yours append to `x-forwarded-for` (the
    /// client is the entry this far from the right).
    #[arg(long, env = "BURSTFLARE_TRUSTED_PROXY_HOPS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    trusted_proxy_hops: u16,
    /// Mark cookies `Secure` (and `__Host-`) even for plain-http requests (TLS terminated by a proxy).
    #[arg(long, env = "BURSTFLARE_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Seconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    #[arg(long, env = "BURSTFLARE_HEADER_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a request body may stall (no data at all) before the request is refused.
    #[arg(long, env = "BURSTFLARE_BODY_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_idle_timeout: u64,
    /// The key browsers' CSRF tokens are derived from (32 bytes or more). Set it through the
    /// environment; without it, a key is generated once into `csrf.key` in the data folder.
    #[arg(long, env = "BURSTFLARE_CSRF_KEY", hide_env_values = true)]
    csrf_key: Option<String>,
    /// Log format.
    #[arg(long, env = "BURSTFLARE_LOG_FORMAT", value_enum, default_value = "pretty")]
    log_format: LogFormat,
    /// How sessions' agents are isolated from this host.
    #[arg(long, env = "BURSTFLARE_SANDBOX", value_enum, default_value = "auto")]
    sandbox: Sandbox,
    /// Sessions' previews are served at `<session uuid>.<this domain>` on the server's port
    /// (`*.localhost` resolves to this machine in browsers).
    #[arg(long, env = "BURSTFLARE_PREVIEW_DOMAIN", default_value = "preview.localhost")]
    preview_domain: String,
    /// Seconds a session's agent has to become healthy before its start fails.
    #[arg(long, env = "BURSTFLARE_START_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    start_timeout: u64,
    /// The largest snapshot accepted (an upload, or a save of a session's persisted paths), in MiB.
    #[arg(long, env = "BURSTFLARE_SNAPSHOT_LIMIT_MIB", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(1..=1024 * 1024))]
    snapshot_limit_mib: u64,
    /// The longest one save of a session's persisted paths may take (retries included), in
    /// seconds; past it the save fails visibly and the stop goes on.
    #[arg(long, env = "BURSTFLARE_SAVE_TIMEOUT_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(i64).range(1..=24 * 3600))]
    save_timeout_seconds: i64,
    #[command(subcommand)]
    command: Option<ServerCommand>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(ServerCommand::Agent) = args.command {
        std::process::exit(match burstflare_containers::entry::main() {
            code if code == std::process::ExitCode::SUCCESS => 0,
            _ => 1,
        });
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    init_tracing(args.log_format);
    let sandbox = match args.sandbox {
        Sandbox::Auto => SandboxMode::Auto,
        Sandbox::Bwrap => SandboxMode::Bwrap,
        Sandbox::Plain => SandboxMode::Plain,
    };
    let exe = std::env::current_exe().context("finding this program (the local runtime runs it as each agent)")?;
    let local_runtime = LocalRuntimeSettings {
        sandbox,
        agent_command: vec![exe.into_os_string(), "agent".into()],
        start_timeout: Duration::from_secs(args.start_timeout),
    };
    let config = ServerConfig {
        listen: args.listen,
        data_dir: (!args.ephemeral).then_some(args.data_dir),
        trust_forwarded_for: args.trust_forwarded_for,
        trusted_proxy_hops: args.trusted_proxy_hops.into(),
        force_secure_cookies: args.secure_cookies,
        csrf_key: args.csrf_key,
        timeouts: Timeouts {
            header_read: Duration::from_secs(args.header_timeout),
            body_idle: Duration::from_secs(args.body_idle_timeout),
        },
        preview_domain: args.preview_domain,
        local_runtime: Some(local_runtime),
        service: burstflare_core::Config {
            snapshot_limit_bytes: args.snapshot_limit_mib << 20,
            save_timeout_seconds: args.save_timeout_seconds,
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let server = start_with_signal(config, shutdown_signal()).await.context("starting the server")?;
    println!("BurstFlare listening on {}", server.url());
    server.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
