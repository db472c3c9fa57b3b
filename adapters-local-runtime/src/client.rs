//! The driver's side of the agent's HTTP API over its unix socket: `GET /health` and
//! `POST /shutdown`, each with the session's secret in [`AGENT_SECRET_HEADER`].

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

/// Sends one request to the agent and returns its status and body, within `timeout`.
async fn request(
    socket: &Path,
    secret: &str,
    method: http::Method,
    path: &str,
    timeout: Duration,
) -> Result<(http::StatusCode, Bytes), String> {
    let exchange = async {
        let stream = UnixStream::connect(socket).await.map_err(|e| format!("connecting to the agent: {e}"))?;
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
