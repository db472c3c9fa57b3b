//! The preview proxy: `/preview/<rest>` to the app on `http://127.0.0.1:<previewPort>/<rest>`,
//! bodies streamed both ways, the agent's secret and hop-by-hop headers dropped, and the app's own
//! WebSocket (or other) upgrades passed through as a byte pipe.

use super::http::{error, Body};
use super::Agent;
use crate::HOP_BY_HOP;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for an app that is still coming up (its port refuses connections
/// while the template's command runs), so the first preview after a start does not fail.
const WARM_UP: Duration = Duration::from_secs(15);
const WARM_UP_STEP: Duration = Duration::from_millis(50);

pub(crate) async fn proxy(agent: Arc<Agent>, mut req: Request<Incoming>) -> Response<Body> {
    let Some(port) = agent.config.preview_port else {
        return error(StatusCode::NOT_FOUND, "preview_not_configured", "this session's template has no preview port");
    };
    agent.activity.touch();
    let rest = req.uri().path().strip_prefix("/preview").unwrap_or_default();
    let path = if rest.is_empty() { "/" } else { rest };
    let target = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let upgrade = upgrade_protocol(req.headers());
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let mut outgoing = Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.version_mut() = Version::HTTP_11;
    *outgoing.uri_mut() = match target.parse() {
        Ok(uri) => uri,
        Err(_) => return error(StatusCode::BAD_REQUEST, "bad_request", "the preview path is not valid"),
    };
    *outgoing.headers_mut() = forward_headers(&parts.headers, upgrade.as_ref());
    let host = HeaderValue::from_str(&format!("127.0.0.1:{port}")).expect("a valid host");
    if let Some(original) = parts.headers.get(header::HOST) {
        outgoing.headers_mut().insert("x-forwarded-host", original.clone());
    }
    outgoing.headers_mut().insert(header::HOST, host);

    let unreachable = || error(StatusCode::BAD_GATEWAY, "preview_unreachable", "the preview app does not answer");
    let Some(stream) = connect_app(&agent, port).await else {
        return unreachable();
    };
    let _ = stream.set_nodelay(true);
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(stream)).await
    else {
        return unreachable();
    };
    let stop = agent.stop.clone();
    agent.tasks.spawn(async move {
        tokio::select! {
            _ = conn.with_upgrades() => {}
            _ = stop.cancelled() => {}
        }
    });
    // How long the app may take to send its response headers (`previewTimeoutMs`).
    let response_timeout = Duration::from_millis(agent.config.preview_timeout_ms);
    let mut response = match tokio::time::timeout(response_timeout, sender.send_request(outgoing)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "preview request failed");
            return unreachable();
        }
        Err(_) => {
            return error(StatusCode::GATEWAY_TIMEOUT, "preview_timeout", "the preview app did not answer in time")
        }
    };
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client)) = (switching, client_upgrade) {
        let app = hyper::upgrade::on(&mut response);
        pipe(&agent, client, app);
    }
    let (mut parts, body) = response.into_parts();
    let upgrade_back = if switching { upgrade_protocol(&parts.headers) } else { None };
    parts.headers = forward_headers(&parts.headers, upgrade_back.as_ref());
    Response::from_parts(parts, body.boxed())
}

/// The `Upgrade` protocol when the request (or a `101` answer) asks for one.
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    headers.get(header::UPGRADE).filter(|_| connection_upgrade).cloned()
}

/// The headers to pass on: without the agent's secret, the hop-by-hop headers and those the
/// `Connection` header names; with `Connection: upgrade` again when an upgrade is passed through.
fn forward_headers(headers: &HeaderMap, upgrade: Option<&HeaderValue>) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    let mut out = headers.clone();
    out.remove(burstflare_core::ports::AGENT_SECRET_HEADER);
    for name in HOP_BY_HOP.iter().map(|n| HeaderName::from_static(n)).chain(named) {
        out.remove(name);
    }
    if let Some(protocol) = upgrade {
        out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        out.insert(header::UPGRADE, protocol.clone());
    }
    out
}

/// A connection to the app. While the template's command is running (or being restarted) and
/// the port still refuses, it is retried for up to [`WARM_UP`]: the app is starting.
async fn connect_app(agent: &Agent, port: u16) -> Option<TcpStream> {
    let began = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(("127.0.0.1", port))).await {
            Ok(Ok(stream)) => return Some(stream),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            _ => return None,
        }
        let state = agent.command.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).state;
        let starting =
            matches!(state, super::supervisor::CommandState::Running | super::supervisor::CommandState::Backoff);
        if !starting || began.elapsed() >= WARM_UP || agent.stop.is_cancelled() {
            return None;
        }
        tokio::time::sleep(WARM_UP_STEP).await;
    }
}

/// Joins the client's and the app's upgraded connections once both are ready.
fn pipe(agent: &Agent, client: OnUpgrade, app: OnUpgrade) {
    let stop = agent.stop.clone();
    agent.tasks.spawn(async move {
        let (Ok(client), Ok(app)) = tokio::join!(client, app) else { return };
        let (mut client, mut app) = (TokioIo::new(client), TokioIo::new(app));
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut app) => {}
            _ = stop.cancelled() => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_and_hop_by_hop_headers_stay_behind() {
        let mut headers = HeaderMap::new();
        headers.insert(burstflare_core::ports::AGENT_SECRET_HEADER, "s".parse().unwrap());
        headers.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        headers.insert("x-private", "1".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        headers.insert(header::ACCEPT, "text/html".parse().unwrap());
        let out = forward_headers(&headers, None);
        assert_eq!(out.len(), 1);
        assert_eq!(out[header::ACCEPT], "text/html");
        let ws = HeaderValue::from_static("websocket");
        let out = forward_headers(&headers, Some(&ws));
        assert_eq!(out[header::CONNECTION], "upgrade");
        assert_eq!(out[header::UPGRADE], "websocket");
    }
}
