//! The persisted paths over the agent's socket: `GET /persist` read as a stream whose end is
//! trusted only when the agent's digest trailer matches what arrived, and `PUT /persist` fed from
//! a stream, a failing source breaking the request off so the agent changes nothing. Neither side
//! holds the archive: chunks pass through a channel of two.

use crate::client::connect_agent_socket;
use crate::layout::SessionPaths;
use crate::runtime::LocalRuntime;
use async_trait::async_trait;
use burstflare_containers::agent::persist::DIGEST_TRAILER;
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{PortResult, AGENT_SECRET_HEADER};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::{Bytes, Frame, Incoming};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest wait for the agent's answer or for its next chunk.
const IDLE: Duration = Duration::from_secs(60);
/// The longest a whole restore may take.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

fn unreachable(e: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(format!("the session's agent: {e}"))
}

fn other(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Other(format!("{what}: {e}"))
}

impl LocalRuntime {
    /// The socket and secret of the session's live agent.
    pub(crate) fn agent_of(&self, session: &SessionId) -> PortResult<(PathBuf, String)> {
        let id = session.as_str();
        let paths = SessionPaths::new(&self.sessions_dir, id)?;
        let record = self.record(id).filter(|r| r.is_alive());
        let record = record.ok_or_else(|| PortError::Other("the session's agent is not running".into()))?;
        Ok((paths.socket(), self.secret(id, &record.generation)))
    }
}

/// Opens `GET /persist`; the archive streams as the caller reads it.
pub(crate) async fn save(socket: &Path, secret: &str) -> PortResult<Box<dyn ByteStream>> {
    let stream = connect_agent_socket(socket).await.map_err(unreachable)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await.map_err(unreachable)?;
    let conn = tokio::spawn(conn);
    let request = http::Request::get("/persist")
        .header(http::header::HOST, "agent")
        .header(http::header::TE, "trailers")
        .header(AGENT_SECRET_HEADER, secret)
        .body(Empty::new())
        .map_err(|e| other("building the request", e))?;
    let response = tokio::time::timeout(IDLE, sender.send_request(request))
        .await
        .map_err(|_| unreachable("no answer in time"))?
        .map_err(unreachable)?;
    if response.status() != http::StatusCode::OK {
        let (status, reason) = (response.status(), refusal(response.into_body()).await);
        conn.abort();
        return Err(PortError::Other(format!("the agent refused to archive ({status}): {reason}")));
    }
    Ok(Box::new(AgentArchive { body: response.into_body(), hasher: Sha256::new(), verified: false, conn }))
}

struct AgentArchive {
    body: Incoming,
    hasher: Sha256,
    verified: bool,
    conn: JoinHandle<Result<(), hyper::Error>>,
}

impl Drop for AgentArchive {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

#[async_trait]
impl ByteStream for AgentArchive {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        loop {
            let frame = tokio::time::timeout(IDLE, self.body.frame()).await.map_err(|_| unreachable("it stalled"))?;
            let frame = match frame {
                None if self.verified => return Ok(None),
                None => return Err(PortError::Other("the archive ended without its digest (cut off)".into())),
                Some(frame) => frame.map_err(|e| other("the archive broke off", e))?,
            };
            match frame.into_data() {
                Ok(data) if !data.is_empty() => {
                    self.hasher.update(&data);
                    return Ok(Some(data.to_vec()));
                }
                Ok(_) => {}
                Err(frame) => {
                    let sent = frame.trailers_ref().and_then(|t| t.get(DIGEST_TRAILER)).and_then(|v| v.to_str().ok());
                    let got = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
                    if sent != Some(got.as_str()) {
                        return Err(PortError::Other("the archive does not match the agent's digest".into()));
                    }
                    self.verified = true;
                }
            }
        }
    }
}

/// `PUT /persist` with `archive` as the body; the agent's refusal (with its reason) is `Other`.
pub(crate) async fn restore(socket: &Path, secret: &str, archive: &mut dyn ByteStream) -> PortResult<()> {
    tokio::time::timeout(RESTORE_TIMEOUT, restore_now(socket, secret, archive))
        .await
        .map_err(|_| PortError::Other("the restore took too long".into()))?
}

async fn restore_now(socket: &Path, secret: &str, archive: &mut dyn ByteStream) -> PortResult<()> {
    let stream = connect_agent_socket(socket).await.map_err(unreachable)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, ChannelBody>(TokioIo::new(stream)).await.map_err(unreachable)?;
    let conn = tokio::spawn(conn);
    let (tx, rx) = mpsc::channel(2);
    let request = http::Request::put("/persist")
        .header(http::header::HOST, "agent")
        .header(AGENT_SECRET_HEADER, secret)
        .body(ChannelBody(rx))
        .map_err(|e| other("building the request", e))?;
    let pump = async move {
        loop {
            match archive.next_chunk().await {
                Ok(Some(chunk)) => {
                    if tx.send(Ok(Frame::data(Bytes::from(chunk)))).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    // Broken off, never ended: the agent sees an incomplete body and changes nothing.
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return Err(e);
                }
            }
        }
    };
    let (response, pumped) = tokio::join!(sender.send_request(request), pump);
    pumped?;
    let response = response.map_err(|e| other("the agent did not take the archive", e))?;
    let status = response.status();
    let reason = refusal(response.into_body()).await;
    conn.abort();
    if status.is_success() {
        return Ok(());
    }
    Err(PortError::Other(format!("the agent refused the archive ({status}): {reason}")))
}

/// The reason in an agent's error answer (`{"error": …}`, read up to 64 KiB).
async fn refusal(body: Incoming) -> String {
    let body = Limited::new(body, 64 * 1024).collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    answer["error"].as_str().unwrap_or("no reason given").to_string()
}

/// A request body fed by a channel (an error frame breaks the request off).
struct ChannelBody(mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx)
    }
}
