//! Using a running session: `ssh` (the system `ssh` with this CLI as its `ProxyCommand`, so
//! `scp`, `sftp`, `rsync` and `-L`/`-R` forwarding work unchanged), `ssh-proxy` (the byte pipe
//! `ssh` runs), `ssh-config` (the managed `Host` entries), `terminal` and `preview`. A sleeping
//! session wakes when one of these connects.

use super::session::session_id;
use crate::client::{parse, Api};
use crate::error::{CliError, Result};
use crate::output::Output;
use crate::runtime::{known_hosts, terminal, ws};
use burstflare_api::{routes, PreviewResponse, SessionsResponse, SshInfoResponse};
use std::path::{Path, PathBuf};

/// The user name `ssh` presents (the session's agent runs everything as its own user).
const SSH_USER: &str = "burstflare";

/// Fetches the session's host key and pins it; returns the SSH facts and the known_hosts path.
async fn pin(api: &mut Api, id: &str) -> Result<(SshInfoResponse, PathBuf)> {
    let info = parse::<SshInfoResponse>(&api.get(&routes::path(routes::SESSION_SSH, &[id])).await?)?;
    let file = known_hosts::path_beside(api.config_file().path());
    let text = known_hosts::read(&file)?;
    let updated = known_hosts::with_key(&text, &info.host_key_alias, &info.host_key);
    if updated != text {
        known_hosts::write(&file, &updated)?;
    }
    Ok((info, file))
}

/// This CLI as a `ProxyCommand` for the session, with the same server and config.
fn proxy_command(api: &Api, id: &str) -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| CliError::new("io", format!("cannot find this program: {e}")))?;
    let words = [
        exe.display().to_string(),
        "--url".into(),
        api.base_url().to_string(),
        "--config".into(),
        api.config_file().path().display().to_string(),
        "ssh-proxy".into(),
        id.to_string(),
    ];
    Ok(words.iter().map(|w| known_hosts::shell_quote(w)).collect::<Vec<_>>().join(" "))
}

/// The options that make `ssh` reach the session with its key pinned.
fn ssh_options(info: &SshInfoResponse, proxy: &str, known: &Path) -> Vec<String> {
    [
        format!("ProxyCommand={proxy}"),
        format!("HostKeyAlias={}", info.host_key_alias),
        format!("UserKnownHostsFile={}", known.display()),
        "StrictHostKeyChecking=yes".into(),
        format!("User={SSH_USER}"),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect()
}

/// `burstflare ssh SESSION [-- ARGS…]`: runs `ssh` and exits with its status.
pub async fn ssh(api: &mut Api, session: &str, args: &[String]) -> Result<()> {
    let id = session_id(api, session).await?;
    let (info, known) = pin(api, &id).await?;
    let mut command = std::process::Command::new("ssh");
    command.args(ssh_options(&info, &proxy_command(api, &id)?, &known)).arg(&info.host_key_alias).args(args);
    let status = command
        .status()
        .map_err(|e| CliError::new("ssh_missing", format!("cannot run ssh (is OpenSSH's client installed?): {e}")))?;
    std::process::exit(status.code().unwrap_or(255));
}

/// `burstflare ssh-proxy SESSION`: the session's SSH stream on stdin and stdout.
pub async fn ssh_proxy(api: &mut Api, session: &str) -> Result<()> {
    let id = session_id(api, session).await?;
    let warm_up = routes::path(routes::SESSION_SSH, &[&id]);
    let socket = ws::connect(api, &routes::path(routes::RUNTIME_SSH, &[&id]), &warm_up).await?;
    ws::pump(socket, tokio::io::stdin(), tokio::io::stdout()).await
}

/// `burstflare ssh-config [--file PATH]`: one `Host burstflare-<name>` per session of the current
/// workspace, in a managed block; returns what it wrote.
pub async fn ssh_config(api: &mut Api, out: Output, file: Option<PathBuf>) -> Result<()> {
    let file = match file {
        Some(file) => file,
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".ssh").join("config"))
            .ok_or_else(|| CliError::config("cannot find ~/.ssh/config; pass --file PATH"))?,
    };
    let sessions = parse::<SessionsResponse>(&api.get(routes::SESSIONS).await?)?.sessions;
    let mut block = String::new();
    let mut hosts = Vec::new();
    for session in &sessions {
        let (info, known) = pin(api, &session.id).await?;
        let host =
            format!("burstflare-{}", session.name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"));
        block.push_str(&format!("Host {host}\n"));
        for pair in ssh_options(&info, &proxy_command(api, &session.id)?, &known).chunks(2) {
            let (key, value) = pair[1].split_once('=').unwrap_or((&pair[1], ""));
            block.push_str(&format!("  {key} {value}\n"));
        }
        hosts.push(host);
    }
    let text = known_hosts::read(&file)?;
    known_hosts::write(&file, &known_hosts::with_block(&text, &block))?;
    let raw = serde_json::json!({ "file": file.display().to_string(), "hosts": hosts });
    out.show(&raw, || match hosts.len() {
        0 => format!("No sessions: the managed block in {} is empty.", file.display()),
        _ => format!("Wrote {} host(s) to {}: {}", hosts.len(), file.display(), hosts.join(", ")),
    });
    Ok(())
}

/// `burstflare terminal SESSION`.
pub async fn terminal(api: &mut Api, session: &str) -> Result<()> {
    let id = session_id(api, session).await?;
    let path = format!("{}{}", routes::path(routes::RUNTIME_TERMINAL, &[&id]), terminal::size_query());
    let socket = ws::connect(api, &path, &routes::path(routes::SESSION, &[&id])).await?;
    terminal::run(socket).await
}

/// `burstflare preview SESSION [--open]`.
pub async fn preview(api: &mut Api, out: Output, session: &str, open: bool) -> Result<()> {
    let id = session_id(api, session).await?;
    let raw = api.post(&routes::path(routes::SESSION_PREVIEW, &[&id]), None).await?;
    let mut preview = parse::<PreviewResponse>(&raw)?;
    if preview.url.starts_with('/') {
        // A deployment without preview hosts links to the API-origin path (for API clients,
        // with their bearer token; see the README's "Using a session").
        preview.url = format!("{}{}", api.base_url(), preview.url);
    }
    if open {
        let opened = std::process::Command::new("xdg-open").arg(&preview.url).status();
        if !opened.is_ok_and(|s| s.success()) {
            out.note("could not open a browser; open the link yourself");
        }
    }
    let hint = if preview.url.contains('?') {
        "the link works for two minutes; the preview then keeps its own sign-in"
    } else {
        "API clients send their bearer token to it: this deployment has no preview hosts"
    };
    out.show(&raw, || format!("{}\n({hint})", preview.url));
    Ok(())
}
