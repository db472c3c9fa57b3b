//! The session's SSH server (russh), fed one byte stream per connection by the agent's listener.
//!
//! **Authentication.** There is none here, on purpose: the only way to reach this server is the
//! edge's `/runtime/sessions/{id}/ssh` WebSocket, and the edge has already authenticated the caller
//! and checked their access to this session before it forwards a single byte. So the `none` method
//! is accepted for any user name (and so is any public key a client offers instead). What the
//! client does check is *this* server: its Ed25519 host key comes from the session's seed, which the
//! CLI pins in its known-hosts file.
//!
//! **What a connection may do.** `session` channels (`pty-req`, `env`, `shell`, `exec`,
//! `subsystem sftp`, `window-change`, `signal`), `direct-tcpip` (`ssh -L`) and `tcpip-forward`
//! (`ssh -R`). Processes run in the workspace with exactly [`SshContext::env`] (plus `TERM` from a
//! pty request and the client's `env` requests, which may override it: the user runs what they
//! like in the session anyway), in a process group of their own that is killed when the process
//! exits (background jobs included; `setsid` escapes it) or its channel or the connection closes.
//!
//! **Bounds.** At most [`MAX_CHANNELS`] channels and [`MAX_FORWARDS`] remote-forward listeners per
//! connection; every queue between the connection and a channel is bounded (32 packets per
//! channel, 2 MiB of a process's pending input, 4 MiB of pending SFTP requests), so a client that
//! sends faster than a process reads is slowed down, not buffered without end. russh serves a
//! connection from one loop, so such backpressure pauses the whole connection until the process
//! reads again.

mod forward;
mod handler;
mod process;
mod session;
mod sftp;
mod sftp_fs;
mod sftp_stream;

use crate::activity::Activity;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::PrivateKey;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Channels (sessions, forwards) one connection may have open at once.
pub const MAX_CHANNELS: usize = 64;
/// `tcpip-forward` listeners one connection may hold.
pub const MAX_FORWARDS: usize = 8;
/// How long a client may take to send its SSH identification line.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection of one session shares.
pub struct SshContext {
    /// The session's host key: a 32-byte Ed25519 seed.
    pub host_key_seed: [u8; 32],
    /// Where processes start and relative SFTP paths are resolved.
    pub workspace: PathBuf,
    /// The user's shell: `shell` for a shell request, `shell -c CMD` for an exec request.
    pub shell: PathBuf,
    /// The whole environment of the user's processes (nothing of the agent's own leaks in).
    pub env: BTreeMap<String, String>,
    /// Touched on real use: input, commands, SFTP requests, forwarded bytes.
    pub activity: Activity,
}

impl fmt::Debug for SshContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshContext")
            .field("host_key_seed", &"<redacted>")
            .field("workspace", &self.workspace)
            .field("shell", &self.shell)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Serves one SSH connection over `stream` until it ends. Returns `Ok` when the client
/// disconnects or the stream reaches EOF (or resets); `Err` when the peer is not an SSH client or
/// breaks the protocol, sends no identification within [`HANDSHAKE_TIMEOUT`], or stops answering
/// keepalives (30 s apart, three missed). When it returns, the connection's tasks are being
/// aborted and every process group it started is killed. Dropping the future early disconnects
/// the client (the session lives in a task of its own).
pub async fn serve<S>(stream: S, ctx: Arc<SshContext>) -> anyhow::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = Arc::new(server_config(&ctx.host_key_seed));
    let start = russh::server::run_stream(config, stream, handler::Connection::new(ctx));
    let running = tokio::time::timeout(HANDSHAKE_TIMEOUT, start)
        .await
        .map_err(|_| anyhow::anyhow!("no SSH identification within {HANDSHAKE_TIMEOUT:?}"))??;
    let mut guard = DisconnectOnDrop(Some(running.handle()));
    let result = running.await;
    guard.0 = None;
    match result {
        Ok(()) => Ok(()),
        Err(e) if is_hangup(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The server's configuration: its host key, keepalives instead of an idle timeout (a quiet
/// `ssh -L` tunnel is still in use), and buffers small enough to bound a connection's memory.
fn server_config(seed: &[u8; 32]) -> russh::server::Config {
    let key = PrivateKey::from(Ed25519Keypair::from_seed(seed));
    russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-BurstFlare".into()),
        keys: vec![key],
        auth_rejection_time: Duration::from_millis(200),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        channel_buffer_size: 32,
        ..Default::default()
    }
}

/// The client went away without a clean disconnect: the end of a connection, not a failure.
fn is_hangup(error: &anyhow::Error) -> bool {
    match error.downcast_ref::<russh::Error>() {
        Some(russh::Error::Disconnect | russh::Error::HUP | russh::Error::KeepaliveTimeout) => true,
        Some(russh::Error::IO(e)) => matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// Disconnects the client when `serve` is dropped before the connection ended.
struct DisconnectOnDrop(Option<russh::server::Handle>);

impl Drop for DisconnectOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let reason = "server shutting down".to_string();
                    let _ = handle.disconnect(russh::Disconnect::ByApplication, reason, String::new()).await;
                });
            }
        }
    }
}

/// Counts a connection's open channels; a [`Slot`] is one of them, freed when dropped.
#[derive(Clone, Default)]
struct Slots(Arc<AtomicUsize>);

struct Slot(Arc<AtomicUsize>);

impl Slots {
    fn take(&self) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_CHANNELS).then_some(n + 1))
            .ok()
            .map(|_| Slot(self.0.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_gets_at_most_max_channels_and_freed_slots_come_back() {
        let slots = Slots::default();
        let mut taken: Vec<Slot> = (0..MAX_CHANNELS).map(|_| slots.take().expect("within the cap")).collect();
        assert!(slots.take().is_none(), "one more is refused");
        taken.pop();
        assert!(slots.take().is_some(), "a closed channel frees its slot");
    }

    #[test]
    fn debug_hides_the_host_key_seed() {
        let ctx = SshContext {
            host_key_seed: [0xab; 32],
            workspace: "/workspace".into(),
            shell: "/bin/sh".into(),
            env: BTreeMap::from([("API_TOKEN".into(), "s3cret".into())]),
            activity: Activity::new(),
        };
        let shown = format!("{ctx:?}");
        assert!(shown.contains("<redacted>") && shown.contains("API_TOKEN"));
        assert!(!shown.contains("171") && !shown.contains("ab, ab") && !shown.contains("s3cret"));
    }
}
