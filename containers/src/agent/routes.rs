//! The agent's routes. Every request must carry the agent's secret; then health, logs, the
//! preview proxy, the terminal and SSH WebSockets, the bundle's upload, the persisted paths' save
//! and restore, and shutdown.

use super::http::{authorized, error, json, query_param, Body};
use super::log::{read_tail, DEFAULT_TAIL, MAX_TAIL};
use super::{bundle_upload, persist, persist_restore, preview, ssh_route, terminal, Agent};
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;

pub(crate) async fn handle(agent: Arc<Agent>, req: Request<Incoming>) -> Response<Body> {
    if !authorized(req.headers(), &agent.config.secret) {
        return error(StatusCode::UNAUTHORIZED, "agent_unauthorized", "missing or wrong agent secret");
    }
    let path = req.uri().path();
    if path == "/preview" || path.starts_with("/preview/") {
        return preview::proxy(agent, req).await;
    }
    match (req.method(), path) {
        (&Method::GET, "/health") => health(&agent),
        (&Method::GET, "/logs") => logs(&agent, req.uri().query()).await,
        (&Method::GET, "/terminal") => terminal::open(agent, req),
        (&Method::GET, "/ssh") => ssh_route::open(agent, req),
        (&Method::PUT, "/bundle") => bundle_upload::put(agent, req).await,
        (&Method::GET, "/persist") => persist::get(agent).await,
        (&Method::GET, "/persist/digest") => persist::last_digest(&agent, req.uri().query()),
        (&Method::PUT, "/persist") => persist_restore::put(agent, req).await,
        (&Method::POST, "/shutdown") => {
            tracing::info!("shutdown requested");
            agent.stop.cancel();
            json(StatusCode::ACCEPTED, &serde_json::json!({ "status": "stopping" }))
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

fn health(agent: &Agent) -> Response<Body> {
    let command = agent.command.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "status": "ok",
            "sessionId": agent.config.session_id,
            "lastActivityAt": agent.activity.last(),
            "command": command,
            "bundle": if agent.bundle_ready.is_cancelled() { "ready" } else { "awaiting" },
        }),
    )
}

async fn logs(agent: &Agent, query: Option<&str>) -> Response<Body> {
    let tail = match query_param(query, "tail").map(str::parse::<u64>) {
        None => DEFAULT_TAIL,
        Some(Ok(tail)) => tail.min(MAX_TAIL),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "bad_request", "tail must be a number of bytes"),
    };
    let state_dir = agent.config.state_dir.clone();
    match tokio::task::spawn_blocking(move || read_tail(&state_dir, tail)).await {
        Ok(Ok(bytes)) => Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(super::http::full(String::from_utf8_lossy(&bytes).into_owned()))
            .expect("a valid response"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not read the command log");
            error(StatusCode::INTERNAL_SERVER_ERROR, "logs_unavailable", "could not read the command log")
        }
        Err(e) => {
            tracing::error!(error = %e, "the log reader failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "logs_unavailable", "could not read the command log")
        }
    }
}
