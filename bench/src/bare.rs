//! The baseline: a bare axum handler returning a small JSON body, served in its own process
//! (`burstflare-bench bare-server`) on tokio's default multi-threaded runtime, so it is measured
//! exactly like the native server: same client, same cores, same connections.

use anyhow::Context;
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

/// The baseline's only route.
pub const PATH: &str = "/bare";

/// Serves [`PATH`] on `listen` until SIGTERM or Ctrl-C, announcing readiness on stdout the way
/// `burstflare-server` does.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let router = Router::new().route(PATH, get(handler));
    println!("bare server listening on http://{}", listener.local_addr()?);
    let mut terminate = signal(SignalKind::terminate())?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    Ok(())
}

async fn handler() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true, "service": "bare" }))
}
