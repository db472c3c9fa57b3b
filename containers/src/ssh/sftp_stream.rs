//! The byte stream the SFTP server reads and writes, made of the channel's two halves.
//!
//! Input is moved off the channel at once by a pump into a pipe of [`INPUT_BUFFER`] bytes: russh
//! hands channel data over from its single connection loop, and a server that is busy writing
//! responses (waiting on that same loop) while requests pile up would otherwise stall the whole
//! connection. OpenSSH keeps at most 64 requests of 32 KiB in flight, well under the buffer.
//!
//! When the client sends EOF (it is done) the stream sends `exit-status 0`, EOF and close before
//! the server sees the end of its input: without an exit status `scp` reports failure.

use russh::server::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

/// Bytes of requests buffered between the channel and the SFTP server.
pub(super) const INPUT_BUFFER: usize = 4 * 1024 * 1024;

type Closing = Pin<Box<dyn Future<Output = ()> + Send>>;
type Output = Pin<Box<dyn AsyncWrite + Send + Sync>>;

pub(super) struct SftpStream {
    input: DuplexStream,
    output: Output,
    channel: Option<Arc<ChannelWriteHalf<Msg>>>,
    closing: Option<Closing>,
}

/// Splits the channel into the server's stream and the pump that feeds it (run it until it ends).
pub(super) fn split(channel: Channel<Msg>) -> (SftpStream, impl Future<Output = ()> + Send) {
    let (read, write) = channel.split();
    let (input, feed) = tokio::io::duplex(INPUT_BUFFER);
    let output: Output = Box::pin(write.make_writer());
    let stream = SftpStream { input, output, channel: Some(Arc::new(write)), closing: None };
    (stream, pump(read, feed))
}

async fn pump(mut read: ChannelReadHalf, mut feed: DuplexStream) {
    while let Some(msg) = read.wait().await {
        match msg {
            ChannelMsg::Data { data } if feed.write_all(&data).await.is_ok() => {}
            ChannelMsg::Data { .. } | ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => {}
        }
    }
    let _ = feed.shutdown().await;
}

impl AsyncRead for SftpStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(closing) = &mut self.closing {
                ready!(closing.as_mut().poll(cx));
                self.closing = None;
                return Poll::Ready(Ok(()));
            }
            let before = buf.filled().len();
            let wanted = buf.remaining() > 0;
            ready!(Pin::new(&mut self.input).poll_read(cx, buf))?;
            let at_eof = wanted && buf.filled().len() == before;
            match self.channel.take() {
                Some(channel) if at_eof => {
                    self.closing = Some(Box::pin(async move {
                        let _ = channel.exit_status(0).await;
                        let _ = channel.eof().await;
                        let _ = channel.close().await;
                    }));
                }
                channel => {
                    self.channel = channel;
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl AsyncWrite for SftpStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.output.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.output.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.output.as_mut().poll_shutdown(cx)
    }
}
