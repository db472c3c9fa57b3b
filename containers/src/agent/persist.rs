//! `GET /persist`: the template's persisted paths as one tar + zstd stream, written by a blocking
//! task into a small bounded channel (so neither the archive nor a file of it is ever held whole)
//! and ended by an HTTP trailer with the SHA-256 of the compressed bytes. A stream that fails
//! midway ends without that trailer, which the reader takes as a failed save. Readers that cannot
//! see trailers (a container's fetch on Cloudflare) ask `GET /persist/digest?archive=N` afterwards
//! (`N` from the response's [`ARCHIVE_HEADER`]): its digest, or 404 when it failed or another
//! archive began since. An archive is written under the restore lock, so it never walks a
//! workspace a restore is replacing. Symlinks that would
//! point out of the workspace (a virtualenv's `python -> /usr/bin/python3`) are left out, since a
//! restore refuses them; sockets and fifos too. Paths past a restore's limits are refused before
//! the archive begins (see `persist_limits`), so a save never stores what cannot come back.

use super::http::Body;
use super::persist_limits::{check_archive_size, is_over_limit, Budget, Entry};
use super::Agent;
use burstflare_core::bundle::symlink_stays_inside;
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Frame;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// The trailer carrying `sha256:<hex>` of the archive's bytes (sent when the request says
/// `TE: trailers`).
pub const DIGEST_TRAILER: &str = "x-burstflare-archive-sha256";
pub use burstflare_core::ports::ARCHIVE_HEADER;
/// The archives' content type.
pub const CONTENT_TYPE: &str = "application/zstd";
/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 64 * 1024;

pub(crate) async fn get(agent: Arc<Agent>) -> Response<Body> {
    let (root, paths) = (agent.config.workspace.clone(), agent.config.persisted_paths.clone());
    let (at, of) = (root.clone(), paths.clone());
    match tokio::task::spawn_blocking(move || measure(&at, &of)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if is_over_limit(&e) => {
            tracing::warn!(reason = %e, "the persisted paths are past a restore's limits; not archived");
            return super::http::error(StatusCode::UNPROCESSABLE_ENTITY, "persist_too_large", &e.to_string());
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not read the persisted paths");
            let why = format!("could not read the persisted paths: {e}");
            return super::http::error(StatusCode::INTERNAL_SERVER_ERROR, "persist_unreadable", &why);
        }
        Err(e) => {
            tracing::error!(error = %e, "the measuring task failed");
            let why = "could not read the persisted paths";
            return super::http::error(StatusCode::INTERNAL_SERVER_ERROR, "persist_unreadable", why);
        }
    }
    let (tx, rx) = mpsc::channel(4);
    let number = {
        let mut last = last_archive(&agent);
        *last = (last.0 + 1, None);
        last.0
    };
    tokio::task::spawn_blocking(move || {
        // Not while a restore replaces the persisted paths (nor alongside another archive).
        let _restore = agent.persist_lock.blocking_lock();
        let mut out = FrameWriter { tx, buffer: Vec::with_capacity(CHUNK), hasher: Sha256::new(), sent: 0 };
        // Recorded before the trailer goes out, so a reader that asks right after its end gets it.
        let record = |digest: &str| {
            let mut last = last_archive(&agent);
            if last.0 == number {
                last.1 = Some(digest.to_string());
            }
        };
        match write_archive(&root, &paths, &mut out).and_then(|skipped| out.finish(record).map(|()| skipped)) {
            Ok(0) => tracing::info!("persisted paths archived"),
            Ok(skipped) => tracing::warn!(skipped, "persisted paths archived without links out of the workspace"),
            Err(e) => tracing::warn!(error = %e, "archiving the persisted paths failed; the stream ends unsigned"),
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::TRAILER, DIGEST_TRAILER)
        .header(ARCHIVE_HEADER, number)
        .body(ChannelBody(rx).boxed())
        .expect("a valid response")
}

fn last_archive(agent: &Agent) -> std::sync::MutexGuard<'_, (u64, Option<String>)> {
    agent.last_archive.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `GET /persist/digest?archive=N`: `{"digest": "sha256:…"}` of archive `N`, when it was the last
/// one begun and it was written to its end.
pub(crate) fn last_digest(agent: &Agent, query: Option<&str>) -> Response<Body> {
    let asked = super::http::query_param(query, "archive").and_then(|n| n.parse::<u64>().ok());
    match (asked, last_archive(agent).clone()) {
        (Some(asked), (number, Some(digest))) if asked == number => {
            super::http::json(StatusCode::OK, &serde_json::json!({ "digest": digest }))
        }
        _ => super::http::error(StatusCode::NOT_FOUND, "no_archive", "that archive was not written to its end"),
    }
}

/// Archives `paths` (relative to `root`, `""` for all of it) into `out`; returns how many links
/// out of the root were left out. Past a restore's limits it stops with `InvalidData` (the reason).
pub fn write_archive(root: &Path, paths: &[String], out: &mut impl Write) -> io::Result<u64> {
    let mut builder = tar::Builder::new(zstd::Encoder::new(out, 3)?);
    builder.follow_symlinks(false);
    let mut budget = Budget::new();
    let skipped = each_entry(root, paths, &mut |name, full, entry| {
        budget.take(name, entry)?;
        match entry {
            Entry::Dir => builder.append_dir(name, full),
            Entry::File(_) | Entry::Link => builder.append_path_with_name(full, name),
        }
    })?;
    builder.into_inner()?.finish()?;
    Ok(skipped)
}

/// Walks the persisted paths as [`write_archive`] would, without reading a file: `InvalidData`
/// with the reason when a restore would not take them.
pub fn measure(root: &Path, paths: &[String]) -> io::Result<()> {
    let mut budget = Budget::new();
    each_entry(root, paths, &mut |name, _, entry| budget.take(name, entry)).map(drop)
}

/// What an archive entry visitor gets: its archive name, its full path and what it is.
type Visit<'a> = dyn FnMut(&Path, &Path, Entry) -> io::Result<()> + 'a;

/// Calls `visit` for every entry to archive under the persisted paths, in a stable order; returns
/// how many links out of the root were left out.
fn each_entry(root: &Path, paths: &[String], visit: &mut Visit<'_>) -> io::Result<u64> {
    let mut skipped = 0;
    for path in paths {
        let name = Path::new(path);
        if through_symlink(root, name) {
            return Err(io::Error::other(format!("the persisted path {path} goes through a symlink")));
        }
        walk(root, name, &mut skipped, visit)?;
    }
    Ok(skipped)
}

/// Whether a folder on the way from `root` to `name` (not `name` itself) is a symlink.
pub(crate) fn through_symlink(root: &Path, name: &Path) -> bool {
    let mut at = root.to_path_buf();
    let parts: Vec<Component> = name.components().collect();
    parts.iter().take(parts.len().saturating_sub(1)).any(|part| {
        at.push(part);
        fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink())
    })
}

fn walk(root: &Path, name: &Path, skipped: &mut u64, visit: &mut Visit<'_>) -> io::Result<()> {
    let full = root.join(name);
    let meta = match fs::symlink_metadata(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        if !name.as_os_str().is_empty() {
            visit(name, &full, Entry::Dir)?;
        }
        let mut children = fs::read_dir(&full)?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<Vec<_>>>()?;
        children.sort();
        for child in children {
            walk(root, &name.join(child), skipped, visit)?;
        }
    } else if kind.is_file() {
        visit(name, &full, Entry::File(meta.len()))?;
    } else if kind.is_symlink() {
        let target = fs::read_link(&full)?;
        match (name.to_str(), target.to_str()) {
            (Some(n), Some(t)) if symlink_stays_inside(n, t) => visit(name, &full, Entry::Link)?,
            _ => *skipped += 1,
        }
    }
    Ok(())
}

/// Sends what is written as body frames of at most [`CHUNK`] bytes, hashing them.
struct FrameWriter {
    tx: mpsc::Sender<Frame<Bytes>>,
    buffer: Vec<u8>,
    hasher: Sha256,
    sent: u64,
}

impl FrameWriter {
    fn send(&mut self, frame: Frame<Bytes>) -> io::Result<()> {
        self.tx.blocking_send(frame).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader went away"))
    }

    /// The last bytes, then `record` of the digest, then the digest trailer.
    fn finish(&mut self, record: impl FnOnce(&str)) -> io::Result<()> {
        self.flush()?;
        let digest = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
        let mut trailers = http::HeaderMap::new();
        trailers.insert(DIGEST_TRAILER, digest.parse().map_err(io::Error::other)?);
        record(&digest);
        self.send(Frame::trailers(trailers))
    }
}

impl Write for FrameWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sent += chunk.len() as u64;
        check_archive_size(self.sent)?;
        self.hasher.update(&chunk);
        self.send(Frame::data(Bytes::from(chunk)))
    }
}

/// A response body fed by a channel.
struct ChannelBody(mpsc::Receiver<Frame<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.0.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}
