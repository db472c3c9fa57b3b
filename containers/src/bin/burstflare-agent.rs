//! `burstflare-agent`: reads its configuration (the `BURSTFLARE_AGENT_CONFIG` environment variable,
//! else standard input) and runs the session agent until it is stopped.

use burstflare_containers::activity::Activity;
use burstflare_containers::agent::{self, SshHandler};
use burstflare_containers::config::AgentConfig;
use std::process::ExitCode;
use std::sync::Arc;

/// The handler for `GET /ssh`. This build has no SSH server: it closes the stream.
fn ssh_handler(_config: &AgentConfig, _activity: &Activity) -> anyhow::Result<SshHandler> {
    Ok(Arc::new(|_stream| {
        Box::pin(async {
            tracing::warn!("an SSH connection was refused: this agent has no SSH server");
            Ok(())
        })
    }))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BURSTFLARE_AGENT_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    let started = agent::read_config().and_then(|config| {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let activity = Activity::new();
        let handler = ssh_handler(&config, &activity)?;
        runtime.block_on(agent::run_with(config, activity, handler, agent::termination_signal()))
    });
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("burstflare-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
