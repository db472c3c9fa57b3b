//! Runs a parsed command line: finds the config file and the server URL, then hands the command to
//! its module. `completions` needs neither and runs first.

pub mod auth;
pub mod build;
pub mod device;
pub mod runtime;
pub mod session;
pub mod snapshot;
pub mod template;
pub mod workspace;

use crate::args::{Cli, Command};
use crate::client::Api;
use crate::config::{ConfigFile, DEFAULT_URL};
use crate::error::Result;
use crate::output::{self, Output};
use clap::CommandFactory;

/// Runs one invocation of `burstflare`.
pub async fn run(cli: Cli) -> Result<()> {
    let out = Output::new(cli.json);
    if let Command::Completions { shell } = cli.command {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "burstflare", &mut script);
        output::print(&String::from_utf8_lossy(&script));
        return Ok(());
    }
    let store = ConfigFile::new(match cli.config {
        Some(path) => path,
        None => ConfigFile::default_path()?,
    });
    let config = store.load()?;
    // --url / BURSTFLARE_URL, else the server of the saved sign_in, else the local default.
    let url = cli.url.filter(|u| !u.trim().is_empty()).or_else(|| config.saved_url().map(str::to_string));
    let mut api = Api::new(url.as_deref().unwrap_or(DEFAULT_URL).trim(), store, config)?;
    match cli.command {
        Command::Auth(command) => auth::run(&mut api, out, command).await,
        Command::Workspace(command) => workspace::run(&mut api, out, command).await,
        Command::Template(command) => template::run(&mut api, out, command).await,
        Command::Build(command) => build::run(&mut api, out, command).await,
        Command::Release(command) => template::run_release(&mut api, out, command).await,
        Command::Session(command) => session::run(&mut api, out, command).await,
        Command::Snapshot(command) => snapshot::run(&mut api, out, command).await,
        Command::Ssh { session, args } => runtime::ssh(&mut api, &session, &args).await,
        Command::SshProxy { session } => runtime::ssh_proxy(&mut api, &session).await,
        Command::SshConfig { file } => runtime::ssh_config(&mut api, out, file).await,
        Command::Terminal { session } => runtime::terminal(&mut api, &session).await,
        Command::Preview { session, open } => runtime::preview(&mut api, out, &session, open).await,
        Command::Completions { .. } => unreachable!("completions ran above"),
    }
}
