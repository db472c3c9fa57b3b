//! Forwards one request to a session's agent and its answer back, streaming both bodies; an
//! upgrade (a WebSocket: the terminal, SSH, or the previewed app's own) is passed through as it
//! is: the agent's 101 goes back to the client and the two upgraded connections are joined.
//! The caller's credentials never reach the agent: `authorization`, BurstFlare's cookies and
//! any agent-secret header the client sent are dropped, and the agent's secret is added.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use burstflare_containers::HOP_BY_HOP;
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

/// Whether the request asks to switch protocols (WebSocket).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection = headers.get_all(header::CONNECTION).iter().filter_map(|v| v.to_str().ok());
    let asks = connection.flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks && headers.contains_key(header::UPGRADE)
}

/// Whether a `cookie` pair is one of BurstFlare's own (never shown to a session).
fn ours(pair: &str) -> bool {
    let name = pair.split('=').next().unwrap_or("").trim();
    let bare = name.strip_prefix("__Host-").unwrap_or(name);
    bare.starts_with("burstflare")
}

/// The headers the agent gets: the client's minus credentials and hop-by-hop ones (plus the
/// upgrade pair when the client asked for one), with the agent's secret.
pub fn agent_headers(client: &HeaderMap, secret: &str) -> HeaderMap {
    let upgrade = is_upgrade(client);
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "authorization" || n == AGENT_SECRET_HEADER || n == "cookie" || n == "host" {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let kept: Vec<&str> = client
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !ours(pair))
        .collect();
    if let Ok(cookie) = HeaderValue::from_str(&kept.join("; ")) {
        if !kept.is_empty() {
            out.insert(header::COOKIE, cookie);
        }
    }
    if upgrade {
        out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Some(protocol) = client.get(header::UPGRADE) {
            out.insert(header::UPGRADE, protocol.clone());
        }
    }
    out.insert(header::HOST, HeaderValue::from_static("session"));
    if let Ok(secret) = HeaderValue::from_str(secret) {
        out.insert(HeaderName::from_static(AGENT_SECRET_HEADER), secret);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_hop_by_hop_headers_stay_behind() {
        let mut client = HeaderMap::new();
        client.insert("authorization", "Bearer bfa_x".parse().unwrap());
        client.insert(AGENT_SECRET_HEADER, "forged".parse().unwrap());
        client.insert("cookie", "burstflare_access=a; app=1; __Host-burstflare_csrf=c; theme=dark".parse().unwrap());
        client.insert("connection", "keep-alive".parse().unwrap());
        client.insert("x-app", "kept".parse().unwrap());
        let out = agent_headers(&client, "s3cret");
        assert_eq!(out.get("authorization"), None);
        assert_eq!(out.get(AGENT_SECRET_HEADER).unwrap(), "s3cret");
        assert_eq!(out.get("cookie").unwrap(), "app=1; theme=dark");
        assert_eq!(out.get("connection"), None);
        assert_eq!(out.get("x-app").unwrap(), "kept");
    }

    #[test]
    fn an_upgrade_keeps_its_pair_and_a_cookie_free_request_has_no_cookie() {
        let mut client = HeaderMap::new();
        client.insert("connection", "keep-alive, Upgrade".parse().unwrap());
        client.insert("upgrade", "websocket".parse().unwrap());
        client.insert("cookie", "burstflare_access=a".parse().unwrap());
        assert!(is_upgrade(&client));
        let out = agent_headers(&client, "s");
        assert_eq!(out.get("connection").unwrap(), "upgrade");
        assert_eq!(out.get("upgrade").unwrap(), "websocket");
        assert_eq!(out.get("cookie"), None);
    }
}
