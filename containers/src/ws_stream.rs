//! A WebSocket seen as a byte stream: binary frames from the peer are read as bytes, bytes written
//! go out as binary frames. The SSH server runs over it, so the SSH protocol never knows it is
//! carried by a WebSocket. Every byte from the peer is a real use of the session ([`Activity`]).

use crate::activity::Activity;
use bytes::Bytes;
use futures_util::{Sink, Stream};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The largest frame written at once (the agent's WebSockets accept frames up to 1 MiB).
const MAX_WRITE: usize = 256 * 1024;

/// A WebSocket carrying a byte stream in binary frames. Text frames are a protocol error; a close
/// frame (or the connection ending) is the end of the stream.
pub struct WsStream<S = TokioIo<Upgraded>> {
    ws: WebSocketStream<S>,
    activity: Activity,
    pending: Bytes,
    closed: bool,
}

impl<S> WsStream<S> {
    pub fn new(ws: WebSocketStream<S>, activity: Activity) -> Self {
        Self { ws, activity, pending: Bytes::new(), closed: false }
    }
}

fn io_error(error: WsError) -> io::Error {
    match error {
        WsError::Io(error) => error,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::Error::from(io::ErrorKind::BrokenPipe),
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.pending.is_empty() {
            if this.closed {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => {
                    if !data.is_empty() {
                        this.activity.touch();
                    }
                    this.pending = data;
                }
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a text frame on a byte-stream WebSocket",
                    )));
                }
                Some(Ok(Message::Close(_))) | None => this.closed = true,
                Some(Ok(_)) => {}
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => this.closed = true,
                Some(Err(error)) => return Poll::Ready(Err(io_error(error))),
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let ws = &mut self.ws;
        ready!(Pin::new(&mut *ws).poll_ready(cx)).map_err(io_error)?;
        let n = buf.len().min(MAX_WRITE);
        Pin::new(&mut *ws).start_send(Message::Binary(Bytes::copy_from_slice(&buf[..n]))).map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(error) => Poll::Ready(Err(io_error(error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::Role;

    #[tokio::test]
    async fn bytes_travel_as_binary_frames_both_ways_and_input_is_activity() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let activity = Activity::new();
        let mut stream = WsStream::new(WebSocketStream::from_raw_socket(a, Role::Server, None).await, activity.clone());
        let mut peer = WebSocketStream::from_raw_socket(b, Role::Client, None).await;

        peer.send(Message::Binary(Bytes::from_static(b"hello"))).await.unwrap();
        let mut got = [0u8; 3];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hel");
        assert!(activity.last().is_some());
        stream.read_exact(&mut got[..2]).await.unwrap();
        assert_eq!(&got[..2], b"lo");

        stream.write_all(&vec![7u8; MAX_WRITE + 10]).await.unwrap();
        stream.flush().await.unwrap();
        let first = peer.next().await.unwrap().unwrap();
        assert_eq!(first.into_data().len(), MAX_WRITE);
        assert_eq!(peer.next().await.unwrap().unwrap().into_data().len(), 10);

        peer.close(None).await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn a_text_frame_is_an_error() {
        let (a, b) = tokio::io::duplex(1024);
        let mut stream = WsStream::new(WebSocketStream::from_raw_socket(a, Role::Server, None).await, Activity::new());
        let mut peer = WebSocketStream::from_raw_socket(b, Role::Client, None).await;
        peer.send(Message::text("nope")).await.unwrap();
        let error = stream.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
