//! Forwards one request to a session's agent and its answer back, streaming both bodies; an
//! upgrade (a WebSocket: the terminal, SSH, or the previewed app's own) is passed through as it
//! is: the agent's 101 goes back to the client and the two upgraded connections are joined.
//! The caller's credentials never reach the agent: `authorization`, BurstFlare's cookies and
//! any agent-secret header the client sent are dropped, and the agent's secret is added.
//! When the agent's side of a joined connection ends first (it closed the WebSocket, or it
//! died), the client's side is closed too, and the caller can be told so it checks the runtime.

pub use crate::runtime_headers::{agent_headers, is_upgrade, HOP_BY_HOP};
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use burstflare_core::ports::{AgentAddress, AgentEndpoint, AGENT_SECRET_HEADER};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

/// How long the agent has to accept the connection and send its response headers.
const AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const AGENT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Once one side of a joined connection has ended, how long the other gets to send its last
/// bytes (a WebSocket's closing reply) before both are dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why a forward failed (mapped to a 502/504 by the caller).
#[derive(Debug)]
pub enum ForwardError {
    Unreachable(String),
    Timeout,
}

/// Sends `request` (its path and query already the agent's) to the agent and returns its
/// response, streaming; joins the two sides when the agent switches protocols. `agent_ended`,
/// when given, is sent on when the agent's side of the joined connection ends before the
/// client's (dropped otherwise).
pub async fn forward(
    endpoint: &AgentEndpoint,
    mut request: Request<Body>,
    agent_path: &str,
    agent_ended: Option<oneshot::Sender<()>>,
) -> Result<Response<Body>, ForwardError> {
    let upgrade = is_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    let (parts, body) = request.into_parts();
    let mut outgoing = Request::builder()
        .method(parts.method)
        .uri(agent_path)
        .body(body)
        .map_err(|e| ForwardError::Unreachable(format!("bad agent request: {e}")))?;
    *outgoing.headers_mut() = agent_headers(&parts.headers, &endpoint.secret);

    let mut sender = connect(endpoint).await?;
    let response = tokio::time::timeout(AGENT_RESPONSE_TIMEOUT, sender.send_request(outgoing))
        .await
        .map_err(|_| ForwardError::Timeout)?
        .map_err(|e| ForwardError::Unreachable(e.to_string()))?;
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_upgrade) = client_upgrade else {
            return Err(ForwardError::Unreachable("the agent switched protocols unasked".into()));
        };
        let (parts, body) = response.into_parts();
        let mut agent_response = Response::from_parts(parts.clone(), body);
        let agent_upgrade = hyper::upgrade::on(&mut agent_response);
        tokio::spawn(async move {
            let (Ok(client), Ok(agent)) = (client_upgrade.await, agent_upgrade.await) else {
                return;
            };
            if join(TokioIo::new(client), TokioIo::new(agent)).await == Ended::Agent {
                if let Some(agent_ended) = agent_ended {
                    let _ = agent_ended.send(());
                }
            }
        });
        let mut back = Response::from_parts(parts, Body::empty());
        back.headers_mut().remove(AGENT_SECRET_HEADER);
        return Ok(back);
    }
    let (mut parts, body) = response.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    // The app may speak HTTP/1.0; the client is answered in our own version.
    parts.version = axum::http::Version::HTTP_11;
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// Which side of a joined connection ended first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Client,
    Agent,
}

/// Copies bytes both ways until one side ends (end of stream or an error); that side's end is
/// passed on to the other (its write half is shut), which gets [`CLOSE_GRACE`] to finish before
/// both connections are dropped, so a client is never left open on an agent that is gone.
async fn join<C, A>(client: C, agent: A) -> Ended
where
    C: AsyncRead + AsyncWrite,
    A: AsyncRead + AsyncWrite,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut agent_read, mut agent_write) = tokio::io::split(agent);
    let up = async {
        let _ = tokio::io::copy(&mut client_read, &mut agent_write).await;
        let _ = agent_write.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut agent_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut down => {
            let _ = tokio::time::timeout(CLOSE_GRACE, up).await;
            Ended::Agent
        }
        () = &mut up => {
            let _ = tokio::time::timeout(CLOSE_GRACE, down).await;
            Ended::Client
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Body>;

/// One HTTP/1.1 connection to the agent (a fresh one per request: upgrades take theirs over).
async fn connect(endpoint: &AgentEndpoint) -> Result<Sender, ForwardError> {
    let unreachable = |e: std::io::Error| ForwardError::Unreachable(e.to_string());
    let connecting = async {
        match &endpoint.address {
            AgentAddress::Unix(path) => {
                // Never through a link the session planted in its writable run folder.
                let stream = burstflare_adapters_local_runtime::connect_agent_socket(std::path::Path::new(path));
                handshake(stream.await.map_err(unreachable)?).await
            }
            AgentAddress::Tcp(addr) => {
                handshake(tokio::net::TcpStream::connect(addr).await.map_err(unreachable)?).await
            }
        }
    };
    tokio::time::timeout(AGENT_CONNECT_TIMEOUT, connecting).await.map_err(|_| ForwardError::Timeout)?
}

async fn handshake<S>(stream: S) -> Result<Sender, ForwardError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ForwardError::Unreachable(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn an_agent_that_goes_away_ends_the_join_and_the_client_sees_the_end() {
        let (client, mut client_peer) = tokio::io::duplex(1024);
        let (agent, mut agent_peer) = tokio::io::duplex(1024);
        let joined = tokio::spawn(join(client, agent));
        client_peer.write_all(b"up").await.unwrap();
        let mut buf = [0u8; 2];
        agent_peer.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"up");
        agent_peer.write_all(b"last words").await.unwrap();
        drop(agent_peer); // as a killed agent's socket does
        let mut rest = Vec::new();
        client_peer.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"last words", "what the agent sent, then the end");
        // The client never closes its side: the join still ends after the grace.
        assert_eq!(joined.await.unwrap(), Ended::Agent);
    }

    #[tokio::test]
    async fn a_client_that_leaves_first_is_not_an_agent_ending() {
        let (client, client_peer) = tokio::io::duplex(1024);
        let (agent, mut agent_peer) = tokio::io::duplex(1024);
        let joined = tokio::spawn(join(client, agent));
        drop(client_peer);
        let mut rest = Vec::new();
        agent_peer.read_to_end(&mut rest).await.unwrap();
        drop(agent_peer);
        assert_eq!(joined.await.unwrap(), Ended::Client);
    }
}
