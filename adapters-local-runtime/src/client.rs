//! The driver's side of the agent's HTTP API over its unix socket: `GET /health` and
//! `POST /shutdown`, each with the session's secret in [`AGENT_SECRET_HEADER`]; and
//! [`connect_agent_socket`], the one safe way to reach a session's socket from the host.

use burstflare_core::ports::AGENT_SECRET_HEADER;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;
use tokio::net::UnixStream;

/// The largest health answer read.
const MAX_BODY: usize = 64 * 1024;

/// What `/health` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    pub status: String,
    /// Milliseconds since the Unix epoch of the last real use, if any.
    #[serde(default)]
    pub last_activity_at: Option<i64>,
    #[serde(default)]
    pub command: Option<CommandHealth>,
}

/// The template's command as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct CommandHealth {
    pub state: String,
    #[serde(default)]
    pub restarts: u32,
    #[serde(default)]
    pub error: Option<String>,
}

/// Connects to the agent's socket at `path` without following a symlink. The socket lives in
/// the session's `run/` folder, which the session can write: a session could replace its socket
/// with a symlink to another socket of the host (another session's, a system daemon's), and a
/// plain `connect` follows it. This opens the path itself (`O_PATH | O_NOFOLLOW`), checks that it
/// is a socket and connects through `/proc/self/fd`, so the inode checked is the one reached.
/// The edge connects to an [`AgentEndpoint`](burstflare_core::ports::AgentEndpoint)'s unix
/// address with it.
pub async fn connect_agent_socket(path: &Path) -> std::io::Result<UnixStream> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::{fstat, Mode, SFlag};
    use std::os::fd::AsRawFd;
    let fd = open(path, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
    let kind = SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT;
    if kind != SFlag::S_IFSOCK {
        return Err(std::io::Error::other(format!("{} is not a socket", path.display())));
    }
    let stream = UnixStream::connect(format!("/proc/self/fd/{}", fd.as_raw_fd())).await;
    drop(fd);
    stream
}

/// Sends one request to the agent and returns its status and body, within `timeout`.
async fn request(
    socket: &Path,
    secret: &str,
    method: http::Method,
    path: &str,
    timeout: Duration,
) -> Result<(http::StatusCode, Bytes), String> {
    let exchange = async {
        let stream = connect_agent_socket(socket).await.map_err(|e| format!("connecting to the agent: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("talking to the agent: {e}"))?;
        let driver = tokio::spawn(conn);
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "agent")
            .header(AGENT_SECRET_HEADER, secret)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("talking to the agent: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the agent's answer: {e}"))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| "the agent did not answer in time".to_string())?
}

/// The agent's health; `Err` when it does not answer 200 with a health body.
pub(crate) async fn health(socket: &Path, secret: &str, timeout: Duration) -> Result<Health, String> {
    let (status, body) = request(socket, secret, http::Method::GET, "/health", timeout).await?;
    if status != http::StatusCode::OK {
        return Err(format!("the agent's health answered {status}"));
    }
    let health: Health = serde_json::from_slice(&body).map_err(|e| format!("the agent's health is unreadable: {e}"))?;
    if health.status != "ok" {
        return Err(format!("the agent's health says {:?}", health.status));
    }
    Ok(health)
}

/// Asks the agent to stop its command and exit.
pub(crate) async fn shutdown(socket: &Path, secret: &str, timeout: Duration) -> Result<(), String> {
    let (status, _) = request(socket, secret, http::Method::POST, "/shutdown", timeout).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the agent's shutdown answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_is_reached_but_a_symlink_to_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.sock");
        let listener = tokio::net::UnixListener::bind(&real).unwrap();
        let accepted = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        connect_agent_socket(&real).await.unwrap();
        accepted.await.unwrap().unwrap();
        let link = dir.path().join("agent.sock");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(connect_agent_socket(&link).await.is_err());
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(connect_agent_socket(&file).await.unwrap_err().to_string().contains("not a socket"));
        assert!(connect_agent_socket(&dir.path().join("missing")).await.is_err());
    }
}
