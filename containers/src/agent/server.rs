//! The agent's one listener (a unix socket only its owner can open, or TCP in a container) and
//! the HTTP/1.1 connections on it; stops accepting when the agent stops, SIGTERM or SIGINT.

use super::{routes, Agent};
use crate::config::Listen;
use anyhow::Context as _;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

pub(crate) enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listener {
    /// Binds `listen`; a stale socket file is replaced, anything else in its place is an error.
    pub async fn bind(listen: &Listen) -> anyhow::Result<Self> {
        match listen {
            Listen::Tcp(addr) => {
                Ok(Self::Tcp(TcpListener::bind(addr).await.with_context(|| format!("could not listen on {addr}"))?))
            }
            Listen::Unix(path) => {
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    anyhow::ensure!(meta.file_type().is_socket(), "{} exists and is not a socket", path.display());
                    std::fs::remove_file(path)
                        .with_context(|| format!("could not remove the stale {}", path.display()))?;
                }
                let listener =
                    UnixListener::bind(path).with_context(|| format!("could not listen on {}", path.display()))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("could not restrict {}", path.display()))?;
                Ok(Self::Unix(listener, path.clone()))
            }
        }
    }
}

/// Accepts connections until the agent stops (or `stop_signal` completes, which stops it).
pub(crate) async fn serve(agent: Arc<Agent>, listener: Listener, stop_signal: impl Future<Output = ()>) {
    tokio::pin!(stop_signal);
    loop {
        tokio::select! {
            _ = agent.stop.cancelled() => break,
            _ = &mut stop_signal => {
                agent.stop.cancel();
                break;
            }
            accepted = accept(&listener, &agent) => {
                if let Err(error) = accepted {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    if let Listener::Unix(_, path) = &listener {
        let _ = std::fs::remove_file(path);
    }
}

async fn accept(listener: &Listener, agent: &Arc<Agent>) -> std::io::Result<()> {
    match listener {
        Listener::Unix(listener, _) => {
            let (stream, _) = listener.accept().await?;
            agent.tasks.spawn(connection(agent.clone(), stream));
        }
        Listener::Tcp(listener) => {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            agent.tasks.spawn(connection(agent.clone(), stream));
        }
    }
    Ok(())
}

/// Serves one connection; when the agent stops, the request in flight is finished and the
/// connection closed.
async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(agent: Arc<Agent>, stream: S) {
    let routed = agent.clone();
    let service = service_fn(move |req| {
        let agent = routed.clone();
        async move { Ok::<_, Infallible>(routes::handle(agent, req).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        _ = agent.stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}
