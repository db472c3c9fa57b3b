//! Forwards one request to a session's agent and its answer back, streaming both bodies; an
//! upgrade (a WebSocket: the terminal, SSH, or the previewed app's own) is passed through as it
//! is: the agent's 101 goes back to the client and the two upgraded connections are joined.
//! The caller's credentials never reach the agent: `authorization`, BurstFlare's cookies and
//! any agent-secret header the client sent are dropped, and the agent's secret is added.

pub use crate::runtime_headers::{agent_headers, is_upgrade, HOP_BY_HOP};
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use burstflare_core::ports::{AgentAddress, AgentEndpoint, AGENT_SECRET_HEADER};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// How long the agent has to accept the connection and send its response headers.
const AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const AGENT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a forward failed (mapped to a 502/504 by the caller).
#[derive(Debug)]
pub enum ForwardError {
    Unreachable(String),
    Timeout,
}

/// Sends `request` (its path and query already the agent's) to the agent and returns its
/// response, streaming; joins the two sides when the agent switches protocols. `on_client_bytes`
/// is called for every chunk the client sends through an upgraded connection.
pub async fn forward(
    endpoint: &AgentEndpoint,
    mut request: Request<Body>,
    agent_path: &str,
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
            let (mut client, mut agent) = (TokioIo::new(client), TokioIo::new(agent));
            let _ = tokio::io::copy_bidirectional(&mut client, &mut agent).await;
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
