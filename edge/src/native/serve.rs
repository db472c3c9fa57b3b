//! Serves the Router over TCP with hyper's HTTP/1 connection directly (rather than `axum::serve`),
//! so that every connection has a header-read timeout (a request whose head does not arrive in
//! time, or a keep-alive connection idle that long, is closed) and every request body an idle
//! timeout ([`IdleTimeoutBody`]). Graceful shutdown works as axum's: stop accepting, let
//! in-flight requests finish, close idle connections.

use super::idle_body::IdleTimeoutBody;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long the server waits on a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the moment the server waits for a request (a new connection, or a kept-alive one
    /// after its last response) until the request's headers are complete.
    pub header_read: Duration,
    /// The longest wait for the next piece of a request body once the handler reads it.
    pub body_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { header_read: Duration::from_secs(30), body_idle: Duration::from_secs(60) }
    }
}

/// Accepts connections until `signal` resolves, then waits for the open ones to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let body_idle = timeouts.body_idle;
        let service = app.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(|body| IdleTimeoutBody::wrap(Body::new(body), body_idle));
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
        let (signal_tx, close_rx) = (signal_tx.clone(), close_rx.clone());
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
            let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = pin!(connection.with_upgrades());
            let mut stopping = pin!(signal_tx.closed().fuse());
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(error) = ended {
                            tracing::debug!(%remote, %error, "connection closed");
                        }
                        break;
                    }
                    () = &mut stopping => connection.as_mut().graceful_shutdown(),
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}
