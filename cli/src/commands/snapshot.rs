//! `burstflare snapshot …`: list a session's snapshots (its latest good one marked), save a
//! running session's persisted paths now, restore a snapshot into a running session, upload an
//! archive as a new snapshot (through a one-time grant, streamed, with its SHA-256 checked by the
//! server), download one (streamed to a file, its digest checked), delete one. Transfers show a
//! progress bar on stderr.

use super::build::{self, progress_target};
use super::session::session_id;
use crate::bundle;
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::{table, Output};
use burstflare_api::{
    routes, CreateSnapshotRequest, DeleteSnapshotResponse, SnapshotDto, SnapshotResponse, SnapshotUploadResponse,
    SnapshotsResponse, UploadGrantRequest, UploadGrantResponse, CONTENT_SHA256_HEADER,
};
use clap::Subcommand;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// List a session's snapshots, oldest first (the latest good one is marked)
    List {
        /// The session (name or id)
        session: String,
    },
    /// Save a running session's persisted paths now, as a snapshot that becomes its latest
    Save {
        /// The session (name or id)
        session: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Restore a snapshot into a running session (its persisted paths are replaced)
    Restore {
        /// The session (name or id)
        session: String,
        /// The snapshot's id
        snapshot: String,
    },
    /// Upload an archive as a new snapshot of the session; it becomes the session's latest
    Upload {
        /// The session (name or id)
        session: String,
        /// The archive to upload
        file: PathBuf,
        #[arg(long)]
        label: Option<String>,
        #[arg(long, default_value = "application/zstd")]
        content_type: String,
    },
    /// Download a snapshot's archive to a file
    Download {
        /// The session (name or id)
        session: String,
        /// The snapshot's id
        snapshot: String,
        /// Where to write it
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Delete a snapshot (if it was the latest, the previous one becomes the latest)
    Delete {
        /// The session (name or id)
        session: String,
        /// The snapshot's id
        snapshot: String,
    },
}

pub async fn run(api: &mut Api, out: Output, command: SnapshotCommand) -> Result<()> {
    let (raw, text) = match command {
        SnapshotCommand::List { session } => {
            let id = session_id(api, &session).await?;
            let raw = api.get(&routes::path(routes::SNAPSHOTS, &[&id])).await?;
            let rows: Vec<Vec<String>> = parse::<SnapshotsResponse>(&raw)?.snapshots.iter().map(row).collect();
            (raw, table(&["ID", "LABEL", "KIND", "SIZE", "UPLOADED", "LATEST"], &rows))
        }
        SnapshotCommand::Save { session, label } => {
            let id = session_id(api, &session).await?;
            let path = routes::path(routes::SNAPSHOT_SAVE, &[&id]);
            let raw = api.post(&path, body(&CreateSnapshotRequest { label })).await?;
            let saved = parse::<SnapshotResponse>(&raw)?.snapshot;
            (raw, format!("Saved snapshot {} ({}).", saved.id, HumanBytes(saved.bytes)))
        }
        SnapshotCommand::Restore { session, snapshot } => {
            let id = session_id(api, &session).await?;
            let raw = api.post(&routes::path(routes::SNAPSHOT_RESTORE, &[&id, &snapshot]), None).await?;
            let restored = parse::<SnapshotResponse>(&raw)?.snapshot;
            (raw, format!("Restored snapshot {} into {session}.", restored.id))
        }
        SnapshotCommand::Upload { session, file, label, content_type } => {
            let id = session_id(api, &session).await?;
            upload(api, out, &id, &file, label, &content_type).await?
        }
        SnapshotCommand::Download { session, snapshot, output } => {
            let id = session_id(api, &session).await?;
            download(api, out, &id, &snapshot, &output).await?
        }
        SnapshotCommand::Delete { session, snapshot } => {
            let id = session_id(api, &session).await?;
            let path = routes::path(routes::SNAPSHOT, &[&id, &snapshot]);
            let raw = api.authed(reqwest::Method::DELETE, &path, None).await?;
            let deleted = parse::<DeleteSnapshotResponse>(&raw)?;
            (raw, format!("Deleted snapshot {}.", deleted.snapshot_id))
        }
    };
    out.show(&raw, || text);
    Ok(())
}

fn row(s: &SnapshotDto) -> Vec<String> {
    let uploaded = s.uploaded_at.clone().unwrap_or_else(|| "-".into());
    let latest = if s.latest { "*" } else { "" };
    vec![s.id.clone(), s.label.clone(), s.kind.clone(), HumanBytes(s.bytes).to_string(), uploaded, latest.into()]
}

fn bar(out: Output, total: Option<u64>, doing: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, progress_target(out));
    let style = format!("{doing} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{eta}}");
    bar.set_style(ProgressStyle::with_template(&style).expect("a valid template").progress_chars("=> "));
    bar
}

/// The file's size and `sha256:<hex>`, read off the async thread.
async fn measure(path: &Path) -> Result<(u64, String)> {
    let path = path.to_path_buf();
    let io = |e: std::io::Error, p: &Path| CliError::new("io", format!("cannot read {}: {e}", p.display()));
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path).map_err(|e| io(e, &path))?;
        let (mut hasher, mut buf, mut size) = (Sha256::new(), vec![0u8; 64 * 1024], 0u64);
        loop {
            let n = file.read(&mut buf).map_err(|e| io(e, &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok((size, format!("sha256:{}", hex::encode(hasher.finalize()))))
    })
    .await
    .map_err(|e| CliError::new("internal", format!("reading stopped: {e}")))?
}

async fn upload(
    api: &mut Api,
    out: Output,
    session: &str,
    file: &Path,
    label: Option<String>,
    content_type: &str,
) -> Result<(serde_json::Value, String)> {
    let (size, digest) = measure(file).await?;
    if size == 0 {
        return Err(CliError::new("empty_body", format!("{} is empty", file.display())));
    }
    let created =
        api.post(&routes::path(routes::SNAPSHOTS, &[session]), body(&CreateSnapshotRequest { label })).await?;
    let snapshot = parse::<SnapshotResponse>(&created)?.snapshot;
    let request = UploadGrantRequest { content_type: content_type.to_string(), bytes: size };
    let path = routes::path(routes::SNAPSHOT_GRANT, &[session, &snapshot.id]);
    let grant = parse::<UploadGrantResponse>(&api.post(&path, body(&request)).await?)?.upload_grant;
    let opened =
        std::fs::File::open(file).map_err(|e| CliError::new("io", format!("cannot open {}: {e}", file.display())))?;
    let progress = bar(out, Some(size), "uploading");
    let request = build::http(Duration::from_secs(60 + size / (32 * 1024)))?
        .put(api.absolute_url(&grant.url))
        .header(CONTENT_TYPE, &grant.content_type)
        .header(CONTENT_LENGTH, size)
        .header(CONTENT_SHA256_HEADER, &digest)
        .body(bundle::streamed(opened, progress.clone()));
    let sent = build::with_headers(request).send().await;
    progress.finish_and_clear();
    let response = sent.map_err(|e| build::transport(e, api.base_url()))?;
    let bytes = build::answer(response, api.base_url()).await?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| CliError::new("bad_response", "the server answered the upload with something other than JSON"))?;
    let stored = parse::<SnapshotUploadResponse>(&raw)?.snapshot;
    let line = format!("Uploaded snapshot {} ({}); it is the session's latest.", stored.id, HumanBytes(stored.bytes));
    Ok((raw, line))
}

async fn download(
    api: &mut Api,
    out: Output,
    session: &str,
    snapshot: &str,
    output: &Path,
) -> Result<(serde_json::Value, String)> {
    // Reading the list first renews an expired sign-in, so the token below is current.
    let list = parse::<SnapshotsResponse>(&api.get(&routes::path(routes::SNAPSHOTS, &[session])).await?)?;
    let found = list.snapshots.into_iter().find(|s| s.id == snapshot);
    let found = found.ok_or_else(|| CliError::new("snapshot_not_found", format!("no snapshot {snapshot}")))?;
    let token = api.config().access_token().ok_or_else(CliError::not_signed_in)?.to_string();
    let url = api.absolute_url(&routes::path(routes::SNAPSHOT_CONTENT, &[session, snapshot]));
    let request = build::http(Duration::from_secs(60 + found.bytes / (32 * 1024)))?.get(url).bearer_auth(token);
    let mut response = build::with_headers(request).send().await.map_err(|e| build::transport(e, api.base_url()))?;
    if !response.status().is_success() {
        build::answer(response, api.base_url()).await?;
        return Err(CliError::new("bad_response", "the download failed"));
    }
    let expected = response.headers().get(CONTENT_SHA256_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let partial = output.with_extension("partial");
    let io = |e: std::io::Error| CliError::new("io", format!("cannot write {}: {e}", partial.display()));
    let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
    let (progress, mut hasher, mut written) = (bar(out, response.content_length(), "downloading"), Sha256::new(), 0u64);
    while let Some(chunk) = response.chunk().await.map_err(|e| build::transport(e, api.base_url()))? {
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
        written += chunk.len() as u64;
        progress.set_position(written);
    }
    progress.finish_and_clear();
    file.flush().await.map_err(io)?;
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    if expected.as_ref().is_some_and(|e| e != &digest) {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(CliError::new("digest_mismatch", "the download does not match the snapshot's SHA-256"));
    }
    tokio::fs::rename(&partial, output).await.map_err(io)?;
    let raw = serde_json::json!({ "snapshotId": snapshot, "output": output.display().to_string(), "bytes": written,
                                  "sha256": digest });
    Ok((raw, format!("Wrote snapshot {snapshot} ({}) to {}.", HumanBytes(written), output.display())))
}
