//! The WebSocket to a session's runtime (`/runtime/sessions/{id}/{ssh|terminal}`), authenticated
//! with the CLI's access token, and the byte pump that joins it to a local stream: binary frames
//! carry the bytes both ways.

use crate::client::Api;
use crate::error::{CliError, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `path` (a runtime route) as a WebSocket with the caller's access token. The token is
/// made fresh first by an authenticated call (`warm_up`), since a WebSocket cannot be retried
/// after a refresh the way the JSON calls are.
pub async fn connect(api: &mut Api, path: &str, warm_up: &str) -> Result<Socket> {
    api.get(warm_up).await?;
    let token = api.config().access_token().ok_or_else(CliError::not_signed_in)?.to_string();
    let url = api.absolute_url(path);
    let ws_url = if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", url.strip_prefix("http://").unwrap_or(&url))
    };
    let mut request = ws_url.as_str().into_client_request().map_err(|e| CliError::new("invalid_url", e.to_string()))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| CliError::new("bad_config", "the saved access token is not a valid header"))?;
    request.headers_mut().insert("authorization", bearer);
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            match serde_json::from_slice::<burstflare_api::ErrorBody>(body) {
                Ok(error) => Err(CliError::api(status, error)),
                Err(_) => Err(CliError::http(status)),
            }
        }
        Err(e) => Err(CliError::unreachable(api.base_url(), e)),
    }
}

/// Copies `input` into binary frames and binary frames into `output` until the session's side
/// closes (the end of our input does not end the stream: the shell or the SSH server still has
/// output to send, and decides when it is over). Text frames are not bytes of the stream.
pub async fn pump<R, W>(socket: Socket, mut input: R, mut output: W) -> Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let upstream = async {
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            let n = input.read(&mut buffer).await.map_err(|e| CliError::new("io", e.to_string()))?;
            if n == 0 {
                return Ok::<(), CliError>(());
            }
            let frame = Message::Binary(buffer[..n].to_vec().into());
            sink.send(frame).await.map_err(|e| CliError::new("connection_lost", e.to_string()))?;
        }
    };
    let downstream = async {
        while let Some(message) = stream.next().await {
            match message.map_err(|e| CliError::new("connection_lost", e.to_string()))? {
                Message::Binary(bytes) => {
                    output.write_all(&bytes).await.map_err(|e| CliError::new("io", e.to_string()))?;
                    output.flush().await.map_err(|e| CliError::new("io", e.to_string()))?;
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        Ok::<(), CliError>(())
    };
    tokio::pin!(downstream);
    tokio::select! {
        done = &mut downstream => done,
        sent = upstream => { sent?; downstream.await }
    }
}
