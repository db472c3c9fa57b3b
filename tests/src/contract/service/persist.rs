//! Persisted paths over each backend, against the fake runtime (whose "files" are one byte
//! string): saved into an automatic snapshot when a session stops, restarts or sleeps through
//! reconcile, restored when it starts; the latest pointer moves only after a good save, so a save
//! that fails (storage down, retried; the runtime refusing) keeps the previous latest and the
//! session says why; manual saves and restores into a running session; a snapshot whose stored
//! content no longer matches its digest is never restored.

use crate::contract::harness::{expect_code, Harness};
use crate::http::bundles::bundle;
use async_trait::async_trait;
use burstflare_adapters_memory::FAKE_ARCHIVE_HEADER;
use burstflare_core::blob::{read_to_end, Blob, BlobInfo, BlobStore, ByteStream, BytesBody};
use burstflare_core::error::PortError;
use burstflare_core::model::{Session, SnapshotKind};
use burstflare_core::ports::PortResult;
use burstflare_core::service::{BuildRun, SAVE_ATTEMPTS};
use burstflare_core::values::SessionState;
use burstflare_core::{Actor, Config, Service};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// An owner with a session `dev` of a template that persists `/workspace/data`.
pub(crate) async fn persisting(h: &Harness) -> anyhow::Result<(Actor, Session)> {
    let actor = h.actor(&h.register("owner@example.com").await?).await?;
    let manifest = json!({ "image": "node:22", "idleTimeoutSeconds": 600, "persistedPaths": ["/workspace/data"] });
    let t = h.service.create_template(&actor, "keeper", None).await?.template.id;
    let (version, build) = h.service.add_version(&actor, &t, "1.0.0", &manifest, None).await?;
    let archive = bundle(&[("a.txt", "a")], None);
    h.service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    h.service.promote(&actor, &t, &version.id).await?;
    let session = h.service.create_session(&actor, "dev", &t).await?.session;
    Ok((actor, session))
}

/// The content of the session's latest good snapshot, and its kind.
pub(crate) async fn latest(
    h: &Harness,
    actor: &Actor,
    session: &Session,
) -> anyhow::Result<Option<(Vec<u8>, SnapshotKind)>> {
    let Some(latest) = h.service.latest_snapshot(session).await? else { return Ok(None) };
    let (_, mut blob) = h.service.download_snapshot(actor, &session.id, &latest.id).await?;
    let archive = read_to_end(blob.body.as_mut(), 1 << 20).await?;
    let files = archive.strip_prefix(FAKE_ARCHIVE_HEADER).expect("the fake's archive").to_vec();
    Ok(Some((files, latest.kind)))
}

pub async fn persisted_paths_survive_stop_restart_and_reconciles_sleep(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = persisting(h).await?;
    let id = &session.id;
    h.service.start_session(&actor, id).await?;
    assert_eq!(h.runtime.restores(), 0, "nothing to restore yet");
    h.runtime.write_files(id, b"v1");
    h.service.stop_session(&actor, id).await?;
    assert_eq!(latest(h, &actor, &session).await?, Some((b"v1".to_vec(), SnapshotKind::Automatic)));

    // A new machine: the files are gone until the start restores them.
    h.runtime.write_files(id, b"");
    h.service.start_session(&actor, id).await?;
    assert_eq!((h.runtime.files(id), h.runtime.restores()), (b"v1".to_vec(), 1));

    h.runtime.write_files(id, b"v2");
    let restarted = h.service.restart_session(&actor, id).await?;
    assert_eq!(restarted.state, SessionState::Running);
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"v2".to_vec()));
    assert_eq!(h.runtime.files(id), b"v2");

    h.runtime.write_files(id, b"v3");
    h.clock.advance_seconds(601);
    assert_eq!(h.service.reconcile_workspace(&actor).await?.slept, 1);
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"v3".to_vec()));
    let list = h.service.list_snapshots(&actor, id).await?;
    assert_eq!(list.snapshots.len(), 3, "one snapshot per save");
    Ok(())
}

/// A blob store whose writes fail while it is down, counting them.
struct Outage {
    inner: Arc<dyn BlobStore>,
    down: AtomicBool,
    puts: AtomicU32,
}

#[async_trait]
impl BlobStore for Outage {
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("the object store is down".into()));
        }
        self.inner.put(key, content_type, body, limit).await
    }
    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        self.inner.get(key).await
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.inner.delete(key).await
    }
}

pub async fn a_failed_save_keeps_the_previous_latest_and_says_why(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = persisting(h).await?;
    let id = &session.id;
    let outage = Arc::new(Outage { inner: h.blobs.clone(), down: AtomicBool::new(false), puts: AtomicU32::new(0) });
    let mut ports = h.ports.clone();
    ports.blobs = outage.clone();
    let service = Service::new(ports, Config::default());
    service.start_session(&actor, id).await?;
    h.runtime.write_files(id, b"good");
    let saved = service.save_snapshot(&actor, id, Some("checkpoint")).await?;
    assert_eq!((saved.kind, saved.label.as_str()), (SnapshotKind::Manual, "checkpoint"));
    assert_eq!(latest(h, &actor, &session).await?, Some((b"good".to_vec(), SnapshotKind::Manual)));

    // Storage goes down: the stop retries, then sleeps anyway, keeping the last good snapshot.
    outage.down.store(true, Ordering::SeqCst);
    outage.puts.store(0, Ordering::SeqCst);
    h.runtime.write_files(id, b"unsaved");
    let slept = service.stop_session(&actor, id).await?;
    assert_eq!(outage.puts.load(Ordering::SeqCst), SAVE_ATTEMPTS, "retried");
    assert_eq!(slept.state, SessionState::Sleeping);
    assert!(!h.runtime.is_running(id), "torn down after the save failed");
    let detail = slept.state_detail.clone().unwrap_or_default();
    assert!(detail.contains("save failed") && detail.contains("Storage is unavailable"), "{detail}");
    let events = service.session_events(&actor, id).await?;
    assert!(events.iter().any(|e| e.details["saveFailed"].is_string()), "{events:?}");
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"good".to_vec()));

    // The runtime refusing: a manual save says why, nothing moves; the start restored the good one.
    outage.down.store(false, Ordering::SeqCst);
    service.start_session(&actor, id).await?;
    assert_eq!(h.runtime.files(id), b"good");
    h.runtime.set_save_failure(Some("disk on fire"));
    let refused = expect_code(service.save_snapshot(&actor, id, None).await, "save_failed");
    assert!(refused.message.contains("disk on fire"), "{refused:?}");
    let shown = service.show_session(&actor, id).await?.0.session;
    assert!(shown.state_detail.unwrap_or_default().contains("disk on fire"));
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"good".to_vec()));
    h.runtime.set_save_failure(None);
    Ok(())
}

pub async fn snapshots_restore_into_running_sessions_only_when_their_digest_matches(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = persisting(h).await?;
    let id = &session.id;
    expect_code(h.service.save_snapshot(&actor, id, None).await, "session_not_running");
    h.service.start_session(&actor, id).await?;
    h.runtime.write_files(id, b"first");
    let first = h.service.save_snapshot(&actor, id, None).await?;
    h.runtime.write_files(id, b"second");
    h.service.restore_snapshot(&actor, id, &first.id).await?;
    assert_eq!(h.runtime.files(id), b"first");

    // The stored object altered behind the record's back: refused, the files left as they were.
    let key = first.content.clone().expect("content").key;
    h.blobs.put(&key, "application/zstd", &mut BytesBody::new(b"tampered".to_vec()), 1 << 20).await?;
    h.runtime.write_files(id, b"current");
    let refused = expect_code(h.service.restore_snapshot(&actor, id, &first.id).await, "restore_failed");
    assert!(refused.message.contains("digest"), "{refused:?}");
    assert_eq!(h.runtime.files(id), b"current");

    // It is the latest: a start that cannot restore it fails and says why.
    h.runtime.set_save_failure(Some("gone"));
    h.service.stop_session(&actor, id).await?;
    h.runtime.set_save_failure(None);
    let failed = h.service.start_session(&actor, id).await?;
    assert_eq!(failed.state, SessionState::Failed);
    assert!(failed.state_detail.unwrap_or_default().contains("digest"));
    expect_code(h.service.restore_snapshot(&actor, id, &first.id).await, "session_not_running");
    Ok(())
}
