//! Requests from a session's Durable Object to the agent in its container, through
//! `Container::get_tcp_port` (the container has no address of its own): each one carries the
//! agent's secret; the caller's credentials never do (see [`agent_headers`]).

use super::container_options::AGENT_PORT;
use crate::runtime_headers::agent_headers;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response};
use burstflare_core::ports::AGENT_SECRET_HEADER;
use worker::send::SendFuture;
use worker::Container;

/// Any URL reaches the port; the host is only a label.
const AGENT_ORIGIN: &str = "http://agent";

/// Sends `method path` with `body` to the agent, with only `headers` (already cleaned) and the
/// secret. The response keeps its extensions (a WebSocket's 101 carries the socket there).
pub async fn send(
    container: &Container,
    secret: &str,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Body,
) -> worker::Result<Response<Body>> {
    let mut request = Request::builder().method(method).uri(format!("{AGENT_ORIGIN}{path}")).body(body)?;
    *request.headers_mut() = headers;
    let secret = HeaderValue::from_str(secret).map_err(|e| worker::Error::RustError(e.to_string()))?;
    request.headers_mut().insert(AGENT_SECRET_HEADER, secret);
    let fetcher = container.get_tcp_port(AGENT_PORT)?;
    let response = SendFuture::new(async move { fetcher.fetch_request(request).await }).await?;
    Ok(response.map(Body::new))
}

/// A request of the agent's own API (no client headers).
pub async fn call(
    container: &Container,
    secret: &str,
    method: Method,
    path: &str,
    body: Body,
) -> worker::Result<Response<Body>> {
    send(container, secret, method, path, HeaderMap::new(), body).await
}

/// A client's request forwarded: its headers minus credentials and hop-by-hop ones.
pub async fn forward(
    container: &Container,
    secret: &str,
    request: Request<Body>,
    path: &str,
) -> worker::Result<Response<Body>> {
    let (parts, body) = request.into_parts();
    let headers = agent_headers(&parts.headers, secret);
    send(container, secret, parts.method, path, headers, body).await
}
