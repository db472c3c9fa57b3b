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
            let raw = response.body().as_deref().unwrap_or_default();
            let chunked = response.headers().get("transfer-encoding").is_some_and(|v| v.as_bytes() == b"chunked");
            let body = if chunked { unchunk(raw) } else { raw.to_vec() };
            match serde_json::from_slice::<burstflare_api::ErrorBody>(&body) {
                Ok(error) => Err(CliError::api(status, error)),
                // The handshake keeps only the bytes that came with the head; a refusal whose
                // body came later is asked again as a plain request, which the edge refuses for
                // the same reason before anything else (who, which role, which session).
                Err(_) if matches!(status, 401 | 403 | 404) => match api.get(path).await {
                    Err(refusal) => Err(refusal),
                    Ok(_) => Err(CliError::http(status)),
                },
                Err(_) => Err(CliError::http(status)),
            }
        }
        Err(e) => Err(CliError::unreachable(api.base_url(), e)),
    }
}

/// The payload of a chunked body as far as it arrived (the handshake keeps the raw bytes that
/// followed a refusal's head; a proxy may have sent them chunked).
fn unchunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..end]);
        let Ok(size) = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16) else { break };
        let data = &rest[end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        rest = data[size..].strip_prefix(b"\r\n").unwrap_or(&data[size..]);
    }
    out
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_chunked_refusal_is_read_whole() {
        let raw = b"7\r\n{\"a\":1,\r\n6\r\n\"b\":2}\r\n0\r\n\r\n";
        assert_eq!(super::unchunk(raw), b"{\"a\":1,\"b\":2}");
        assert_eq!(super::unchunk(b"zz\r\n"), b"");
    }
}
