//! A `session` channel: gathers its set-up requests (`pty-req`, `env`, `window-change`) until
//! the one that starts it (`exec`, `shell` or `subsystem sftp`), then hands the channel over to a
//! process ([`super::process`]) or to the SFTP server ([`super::sftp`]).

use super::{process, sftp, Slot, SshContext};
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The one subsystem there is.
pub(super) const SFTP: &str = "sftp";
/// `env` requests kept per channel.
const MAX_ENV: usize = 64;

/// Whether an `env` request is kept: a plain variable name and a value of sane size. The user
/// runs whatever they like in the session anyway; this only bounds what a request may allocate.
pub(super) fn acceptable_env(name: &str, value: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && name.len() <= 256 && value.len() <= 4096
}

/// The terminal a `pty-req` asked for (and later `window-change`s resized).
#[derive(Debug, Clone)]
pub(super) struct PtyRequest {
    pub term: String,
    pub cols: u16,
    pub rows: u16,
}

/// What the channel runs: `None` is the user's shell, `Some` a command for `shell -c`.
pub(super) struct Program {
    pub command: Option<Vec<u8>>,
    pub pty: Option<PtyRequest>,
    pub env: BTreeMap<String, String>,
}

enum Start {
    Exec(Vec<u8>),
    Shell,
    Sftp,
}

/// Serves one session channel until it closes.
pub(super) async fn run(mut channel: Channel<Msg>, ctx: Arc<SshContext>, slot: Slot) {
    let mut pty: Option<PtyRequest> = None;
    let mut client_env = BTreeMap::new();
    let start = loop {
        match channel.wait().await {
            None | Some(ChannelMsg::Close) => return,
            Some(ChannelMsg::RequestPty { term, col_width, row_height, .. }) => {
                pty = Some(PtyRequest { term, cols: clamp(col_width), rows: clamp(row_height) });
            }
            Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => {
                if let Some(pty) = &mut pty {
                    (pty.cols, pty.rows) = (clamp(col_width), clamp(row_height));
                }
            }
            Some(ChannelMsg::SetEnv { variable_name, variable_value, .. }) => {
                if acceptable_env(&variable_name, &variable_value) && client_env.len() < MAX_ENV {
                    client_env.insert(variable_name, variable_value);
                }
            }
            Some(ChannelMsg::Exec { command, .. }) => break Start::Exec(command),
            Some(ChannelMsg::RequestShell { .. }) => break Start::Shell,
            Some(ChannelMsg::RequestSubsystem { name, .. }) if name == SFTP => break Start::Sftp,
            Some(_) => {}
        }
    };
    let mut env = ctx.env.clone();
    env.extend(client_env);
    if let Some(pty) = &pty {
        env.insert("TERM".to_string(), pty.term.clone());
    }
    let command = match start {
        Start::Sftp => return sftp::serve(channel, ctx, slot).await,
        Start::Exec(command) => Some(command),
        Start::Shell => None,
    };
    process::run(channel, &ctx, Program { command, pty, env }).await;
    drop(slot);
}

/// A terminal dimension as the pty wants it (0 means "unknown" in SSH; keep it at least 1).
pub(super) fn clamp(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_requests_are_plain_names_of_sane_size() {
        assert!(acceptable_env("LANG", "C.UTF-8"));
        assert!(acceptable_env("_X1", ""));
        assert!(!acceptable_env("", "x"));
        assert!(!acceptable_env("1X", "x"));
        assert!(!acceptable_env("A=B", "x"));
        assert!(!acceptable_env("A", &"x".repeat(5000)));
    }

    #[test]
    fn terminal_sizes_are_clamped() {
        assert_eq!(clamp(0), 1);
        assert_eq!(clamp(80), 80);
        assert_eq!(clamp(1 << 20), u16::MAX);
    }
}
