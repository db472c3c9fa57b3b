//! `burstflare-server`: the self-hosted BurstFlare control plane. Listens on 127.0.0.1:8787 and
//! keeps its data (SQLite) under `./.burstflare` unless told otherwise by flags or environment.

use anyhow::Context;
use burstflare_edge::native::{start_with_signal, ServerConfig};
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Rate-limit by the first `x-forwarded-for` entry; only behind a proxy you trust.
    #[arg(long, env = "BURSTFLARE_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Mark cookies `Secure` even for plain-http requests (TLS terminated by a proxy).
    #[arg(long, env = "BURSTFLARE_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Log format.
    #[arg(long, env = "BURSTFLARE_LOG_FORMAT", value_enum, default_value = "pretty")]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing(args.log_format);
    let config = ServerConfig {
        listen: args.listen,
        data_dir: (!args.ephemeral).then_some(args.data_dir),
        trust_forwarded_for: args.trust_forwarded_for,
        force_secure_cookies: args.secure_cookies,
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
