//! The server side of a WebSocket handshake on a hyper request, for the terminal and SSH routes:
//! the `101` answer, then the upgraded connection as a `WebSocketStream` with the agent's limits.

use super::http::{empty, error, Body};
use http::{header, HeaderMap, Request, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// The largest message and frame the agent accepts.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

pub(crate) type Socket = WebSocketStream<TokioIo<Upgraded>>;

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The answer to a request on a WebSocket route that does not open one.
pub(crate) fn not_a_websocket() -> Response<Body> {
    error(StatusCode::BAD_REQUEST, "websocket_required", "this route takes a WebSocket")
}

/// Checks that `req` opens a WebSocket; returns the `101` answer to send and the upgrade to await.
pub(crate) fn accept<B>(req: &mut Request<B>) -> Option<(Response<Body>, OnUpgrade)> {
    let headers = req.headers();
    let valid = has_token(headers, header::CONNECTION, "upgrade")
        && has_token(headers, header::UPGRADE, "websocket")
        && headers.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|_| valid);
    let key = key?;
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, derive_accept_key(key.as_bytes()))
        .body(empty())
        .expect("a valid response");
    Some((response, hyper::upgrade::on(req)))
}

/// The upgraded connection as a WebSocket (server role, 1 MiB messages and frames at most).
pub(crate) async fn open(upgrade: OnUpgrade) -> hyper::Result<Socket> {
    let upgraded = upgrade.await?;
    let config =
        WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES)).max_frame_size(Some(MAX_MESSAGE_BYTES));
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await)
}
