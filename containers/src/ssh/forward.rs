//! Port forwarding: `direct-tcpip` channels (`ssh -L`) connect to the requested host and port
//! from inside the session; `tcpip-forward` (`ssh -R`) listens in the session and opens a
//! `forwarded-tcpip` channel back to the client for every connection. Bytes in either direction
//! count as use of the session.

use super::{Slot, Slots};
use crate::activity::Activity;
use russh::server::{ChannelOpenHandle, Handle, Msg};
use russh::{Channel, ChannelOpenFailure};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves a `direct-tcpip` channel: connects first, then accepts the channel (or refuses it with
/// "connect failed", which `ssh -L` reports to its local client).
pub(super) async fn direct(
    channel: Channel<Msg>,
    reply: ChannelOpenHandle,
    (host, port): (String, u32),
    activity: Activity,
    slot: Slot,
) {
    let Ok(port) = u16::try_from(port) else {
        return reply.reject(ChannelOpenFailure::ConnectFailed).await;
    };
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(tcp)) => tcp,
        _ => return reply.reject(ChannelOpenFailure::ConnectFailed).await,
    };
    reply.accept().await;
    activity.touch();
    pipe(channel, tcp, activity).await;
    drop(slot);
}

/// Binds the listener of a `tcpip-forward` request; an empty address or `localhost` means the
/// session's loopback, `*` every address.
pub(super) async fn bind(address: &str, port: u32) -> io::Result<TcpListener> {
    let port = u16::try_from(port).map_err(io::Error::other)?;
    let host = match address {
        "" | "localhost" => "127.0.0.1",
        "*" => "0.0.0.0",
        other => other,
    };
    TcpListener::bind((host, port)).await
}

/// What a remote forward needs to open channels back to the client.
pub(super) struct Remote {
    pub handle: Handle,
    pub address: String,
    pub port: u32,
    pub activity: Activity,
    pub slots: Slots,
}

/// Accepts connections on a `tcpip-forward` listener until the forward is cancelled (the task is
/// aborted) or the connection ends; each connection takes one of the connection's channel slots.
pub(super) async fn serve_remote(listener: TcpListener, remote: Remote) {
    let mut connections = JoinSet::new();
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let Some(slot) = remote.slots.take() else { continue };
        let (handle, address, port, activity) =
            (remote.handle.clone(), remote.address.clone(), remote.port, remote.activity.clone());
        connections.spawn(async move {
            let opened =
                handle.channel_open_forwarded_tcpip(address, port, peer.ip().to_string(), u32::from(peer.port())).await;
            if let Ok(channel) = opened {
                activity.touch();
                pipe(channel, tcp, activity).await;
            }
            drop(slot);
        });
    }
}

/// Pumps bytes both ways until both directions reached EOF; the channel closes when dropped.
async fn pipe(channel: Channel<Msg>, mut tcp: TcpStream, activity: Activity) {
    let mut stream = Touching { inner: channel.into_stream(), activity };
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
}

/// A stream that records activity whenever bytes pass through it.
struct Touching<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Touching<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Touching<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
