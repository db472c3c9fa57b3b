//! `PUT /bundle`: the template's bundle uploaded by the edge when the agent was configured with
//! `bundleUpload` (a container cannot read the template store itself). The body is streamed to
//! a temporary file beside `bundle`, moved into place, checked and unpacked as a bundle on disk
//! is; then the command starts. Once per agent: a second upload is a 409.

use super::bundle::{unpack_once, Unpacked};
use super::http::{error, json, Body};
use super::Agent;
use burstflare_core::bundle::Limits;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub(crate) async fn put(agent: Arc<Agent>, req: Request<Incoming>) -> Response<Body> {
    let Some(path) = agent.config.bundle.clone().filter(|_| agent.config.bundle_upload) else {
        return error(StatusCode::CONFLICT, "bundle_not_expected", "this agent takes no uploaded bundle");
    };
    let _one_at_a_time = agent.bundle_lock.lock().await;
    if agent.bundle_ready.is_cancelled() {
        return error(StatusCode::CONFLICT, "bundle_already_placed", "the bundle is already in place");
    }
    let partial = path.with_extension("part");
    let max = Limits::default().max_unpacked_bytes;
    if let Err(e) = receive(req.into_body(), &partial, max, "bundle").await {
        let _ = tokio::fs::remove_file(&partial).await;
        return e;
    }
    if let Err(e) = tokio::fs::rename(&partial, &path).await {
        tracing::error!(error = %e, "could not move the uploaded bundle into place");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "bundle_unwritable", "could not store the bundle");
    }
    let (workspace, state) = (agent.config.workspace.clone(), agent.config.state_dir.clone());
    let unpacked = tokio::task::spawn_blocking(move || unpack_once(Some(&path), &workspace, &state)).await;
    match unpacked {
        Ok(Ok(outcome)) => {
            let sha256 = match outcome {
                Unpacked::Now(sha256) => Some(sha256),
                Unpacked::Already | Unpacked::NoBundle => None,
            };
            tracing::info!(?sha256, "uploaded bundle unpacked");
            agent.bundle_ready.cancel();
            json(StatusCode::OK, &serde_json::json!({ "status": "unpacked", "sha256": sha256 }))
        }
        Ok(Err(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, "bundle_refused", &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "the unpacking task failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "bundle_unwritable", "could not unpack the bundle")
        }
    }
}

/// Streams the body into `partial`, refusing more than `max` bytes; error codes start with `what`.
pub(super) async fn receive(
    mut body: Incoming,
    partial: &std::path::Path,
    max: u64,
    what: &str,
) -> Result<(), Response<Body>> {
    let unwritable = |e: std::io::Error| {
        tracing::error!(error = %e, what, "could not write an upload");
        error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{what}_unwritable"), "could not store the upload")
    };
    let mut file = tokio::fs::File::create(partial).await.map_err(unwritable)?;
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let incomplete = |_| error(StatusCode::BAD_REQUEST, &format!("{what}_incomplete"), "the upload broke off");
        let frame = frame.map_err(incomplete)?;
        let Ok(chunk) = frame.into_data() else { continue };
        written += chunk.len() as u64;
        if written > max {
            let code = format!("{what}_too_large");
            return Err(error(StatusCode::PAYLOAD_TOO_LARGE, &code, &format!("the {what} is larger than allowed")));
        }
        file.write_all(&chunk).await.map_err(unwritable)?;
    }
    file.flush().await.map_err(unwritable)?;
    file.sync_all().await.map_err(unwritable)
}
