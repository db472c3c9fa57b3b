//! `PUT /persist`: replaces the persisted paths with an archive made by `GET /persist` (tar +
//! zstd). The body is streamed to a file in the state folder, then checked in full with the
//! bundle rules (the core's tar inspector: no absolute names, no `..`, no link out of the root,
//! only files, directories and links, the limits of `persist_limits`, which a save enforces too)
//! and every entry must lie inside a persisted path; only then are those paths removed and the
//! archive unpacked (each entry checked again). A refused archive changes nothing.

use super::bundle::{unpack_tar, UnpackError};
use super::bundle_upload::receive;
use super::http::{error, json, Body};
use super::persist::through_symlink;
use super::persist_limits::{max_archive_bytes, persist_limits};
use super::Agent;
use burstflare_core::bundle::TarInspector;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) async fn put(agent: Arc<Agent>, req: Request<Incoming>) -> Response<Body> {
    let _one_at_a_time = agent.persist_lock.lock().await;
    let partial = agent.config.state_dir.join("persist.part");
    if let Err(e) = receive(req.into_body(), &partial, max_archive_bytes(&persist_limits()), "persist").await {
        let _ = tokio::fs::remove_file(&partial).await;
        return e;
    }
    let (workspace, paths) = (agent.config.workspace.clone(), agent.config.persisted_paths.clone());
    let archive = partial.clone();
    let restored = tokio::task::spawn_blocking(move || restore(&archive, &workspace, &paths)).await;
    let _ = tokio::fs::remove_file(&partial).await;
    match restored {
        Ok(Ok(entries)) => {
            tracing::info!(entries, "persisted paths restored");
            json(StatusCode::OK, &serde_json::json!({ "status": "restored", "entries": entries }))
        }
        Ok(Err(UnpackError::Invalid(e))) => error(StatusCode::UNPROCESSABLE_ENTITY, "persist_refused", &e.to_string()),
        Ok(Err(UnpackError::Refused(why))) => error(StatusCode::UNPROCESSABLE_ENTITY, "persist_refused", &why),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not restore the persisted paths");
            error(StatusCode::INTERNAL_SERVER_ERROR, "persist_unwritable", "could not restore the persisted paths")
        }
        Err(e) => {
            tracing::error!(error = %e, "the restoring task failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "persist_unwritable", "could not restore the persisted paths")
        }
    }
}

/// Checks `archive`, then replaces `paths` (relative to `workspace`) with its content; returns
/// how many entries it held. Blocking.
pub fn restore(archive: &Path, workspace: &Path, paths: &[String]) -> Result<u64, UnpackError> {
    let allowed = |name: &Path| paths.iter().any(|p| name.starts_with(p));
    let entries = inspect(archive, &allowed)?;
    for path in paths {
        if through_symlink(workspace, Path::new(path)) {
            return Err(UnpackError::Refused(format!("the persisted path {path} goes through a symlink")));
        }
    }
    for path in paths {
        clear(workspace, Path::new(path))
            .map_err(|source| UnpackError::Write { path: workspace.join(path), source })?;
    }
    unpack_tar(decoder(archive)?, workspace, &allowed)?;
    Ok(entries)
}

fn decoder(archive: &Path) -> Result<impl Read, UnpackError> {
    let read = |source| UnpackError::Read { path: archive.to_path_buf(), source };
    let file = File::open(archive).map_err(read)?;
    zstd::Decoder::new(file).map_err(|_| UnpackError::Refused("not a zstd archive".into()))
}

/// The whole archive through the core's tar checks, and every name inside a persisted path.
fn inspect(archive: &Path, allowed: &dyn Fn(&Path) -> bool) -> Result<u64, UnpackError> {
    let corrupt = |e: io::Error| UnpackError::Refused(format!("the archive is corrupt: {e}"));
    let mut tee = Tee { inner: decoder(archive)?, inspector: TarInspector::new(persist_limits()), failed: None };
    let names: io::Result<Vec<PathBuf>> = {
        let mut listing = tar::Archive::new(&mut tee);
        let entries = listing.entries();
        entries.and_then(|entries| entries.map(|e| e.and_then(|e| e.path().map(|p| p.into_owned()))).collect())
    };
    if let Some(refusal) = tee.failed.take() {
        return Err(refusal.into());
    }
    let names = names.map_err(corrupt)?;
    io::copy(&mut tee, &mut io::sink()).map_err(corrupt)?;
    if let Some(refusal) = tee.failed.take() {
        return Err(refusal.into());
    }
    if let Some(outside) = names.iter().find(|name| !allowed(name)) {
        return Err(UnpackError::Refused(format!("outside the persisted paths: {}", outside.display())));
    }
    Ok(tee.inspector.finish()?)
}

/// Removes what is at `workspace/name` without following a link (all of the workspace's
/// content when `name` is empty).
fn clear(workspace: &Path, name: &Path) -> io::Result<()> {
    if name.as_os_str().is_empty() {
        for child in fs::read_dir(workspace)? {
            clear(workspace, Path::new(&child?.file_name()))?;
        }
        return Ok(());
    }
    let full = workspace.join(name);
    match fs::symlink_metadata(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.file_type().is_dir() => fs::remove_dir_all(&full),
        Ok(_) => fs::remove_file(&full),
    }
}

/// Feeds everything read to the inspector; its first refusal stops the reading.
struct Tee<R> {
    inner: R,
    inspector: TarInspector,
    failed: Option<burstflare_core::bundle::BundleError>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.inspector.feed(&buf[..n]) {
            self.failed = Some(e.clone());
            return Err(io::Error::other(e));
        }
        Ok(n)
    }
}
