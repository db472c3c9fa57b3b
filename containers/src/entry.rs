//! The agent as a program: logging to standard error, the configuration read once, the SSH
//! server wired to the `/ssh` route, and the exit status. Both `burstflare-agent` (the session
//! image's entrypoint) and `burstflare-server agent` (what the local driver starts) run this.

use crate::activity::Activity;
use crate::agent::{self, SshHandler};
use crate::config::AgentConfig;
use crate::shell::{resolve_shell, session_env};
use crate::ssh::{self, SshContext};
use std::process::ExitCode;
use std::sync::Arc;

/// The `/ssh` route's handler: the session's SSH server over the WebSocket's byte stream.
pub fn ssh_handler(config: &AgentConfig, activity: &Activity) -> anyhow::Result<SshHandler> {
    let context = Arc::new(SshContext {
        host_key_seed: config.host_key_seed().map_err(anyhow::Error::msg)?,
        workspace: config.workspace.clone(),
        shell: resolve_shell(config),
        env: session_env(config, &[]),
        activity: activity.clone(),
    });
    Ok(Arc::new(move |stream| {
        let context = context.clone();
        Box::pin(async move {
            if let Err(error) = ssh::serve(stream, context).await {
                tracing::info!(error = %format!("{error:#}"), "an SSH connection ended with an error");
            }
            Ok(())
        })
    }))
}

/// Runs the agent from its configuration until it is stopped; the process's exit status.
pub fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BURSTFLARE_AGENT_LOG").unwrap_or_else(|_| "info".into()),
        )
        .try_init();
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
