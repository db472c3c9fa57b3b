//! The build pipeline over each backend: a build waits for its bundle, checks it for real, fails
//! hostile bundles at once, retries transient storage faults with backoff and dead-letters them
//! after three attempts (fault injected through a failing blob store), and is requeued when a
//! runner died mid-build.

use crate::contract::harness::Harness;
use crate::http::bundles::{bundle, hostile};
use async_trait::async_trait;
use burstflare_core::blob::{read_to_end, Blob, BlobInfo, BlobStore, ByteStream, BytesBody};
use burstflare_core::error::PortError;
use burstflare_core::ids::TemplateId;
use burstflare_core::model::{Build, BuildStatus, VersionStatus};
use burstflare_core::ports::PortResult;
use burstflare_core::service::BuildRun;
use burstflare_core::{Actor, Config, Service};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Fault injection: a blob store whose reads fail while `down` is set.
struct Flaky {
    inner: Arc<dyn BlobStore>,
    down: AtomicBool,
}

#[async_trait]
impl BlobStore for Flaky {
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        self.inner.put(key, content_type, body, limit).await
    }
    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        if self.down.load(Ordering::SeqCst) && key.contains("/bundle") {
            return Err(PortError::Unavailable("object storage is down".into()));
        }
        self.inner.get(key).await
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.inner.delete(key).await
    }
}

async fn setup(h: &Harness) -> anyhow::Result<(Actor, TemplateId)> {
    let owner = h.register("owner@example.com").await?;
    let actor = h.actor(&owner).await?;
    let template = h.service.create_template(&actor, "node-dev", None).await?;
    Ok((actor, template.template.id))
}

async fn version_with(
    service: &Service,
    actor: &Actor,
    t: &TemplateId,
    label: &str,
    body: Vec<u8>,
) -> anyhow::Result<Build> {
    let (version, _) = service.add_version(actor, t, label, &json!({ "image": "node:22" }), None).await?;
    let (_, build) =
        service.upload_bundle(actor, t, &version.id, "application/gzip", &mut BytesBody::new(body)).await?;
    Ok(build)
}

pub async fn builds_wait_for_bundles_then_check_them(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = setup(h).await?;
    let (version, build) = h.service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    assert!(matches!(h.service.process_build(&build.id).await?, BuildRun::Skipped(_)), "no bundle yet");
    let archive = bundle(&[("a.txt", "a"), ("src/b.txt", "b")], Some(&json!({ "image": "node:22" })));
    h.service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    let done = h.service.get_build(&actor, &build.id).await?;
    assert_eq!((done.status, done.attempts), (BuildStatus::Succeeded, 1));
    assert_eq!(done.artifact.as_ref().map(|a| a.file_count), Some(3));
    let log = h.service.build_log(&actor, &build.id).await?;
    assert!(log.contains("result: succeeded") && log.contains("digest: sha256:"), "{log}");
    let view = h.service.show_template(&actor, &t).await?;
    assert_eq!(view.versions[0].0.status, VersionStatus::Ready);
    assert!(matches!(h.service.process_build(&build.id).await?, BuildRun::Skipped(_)), "a finished build is not rerun");
    Ok(())
}

pub async fn hostile_bundles_fail_at_once(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = setup(h).await?;
    let build = version_with(&h.service, &actor, &t, "1", hostile("../evil", None)).await?;
    match h.service.process_build(&build.id).await? {
        BuildRun::Failed(reason) => assert!(reason.contains(".."), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let failed = h.service.get_build(&actor, &build.id).await?;
    assert_eq!((failed.status, failed.attempts), (BuildStatus::Failed, 1));
    assert!(matches!(h.service.process_build(&build.id).await?, BuildRun::Skipped(_)));
    Ok(())
}

pub async fn transient_faults_retry_then_dead_letter(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = setup(h).await?;
    let flaky = Arc::new(Flaky { inner: h.ports.blobs.clone(), down: AtomicBool::new(false) });
    let mut ports = h.ports.clone();
    ports.blobs = flaky.clone();
    let service = Service::new(ports, Config::default());
    let build = version_with(&service, &actor, &t, "1", bundle(&[("a", "b")], None)).await?;
    flaky.down.store(true, Ordering::SeqCst);
    for attempt in 1..=2u32 {
        match service.process_build(&build.id).await? {
            BuildRun::Retrying { delay_seconds, .. } => assert!(delay_seconds >= 5, "backoff"),
            other => panic!("attempt {attempt}: expected a retry, got {other:?}"),
        }
        let b = service.get_build(&actor, &build.id).await?;
        assert_eq!((b.status, b.attempts), (BuildStatus::Retrying, attempt));
    }
    assert!(matches!(service.process_build(&build.id).await?, BuildRun::DeadLettered(_)));
    let dead = service.get_build(&actor, &build.id).await?;
    assert_eq!((dead.status, dead.attempts), (BuildStatus::DeadLettered, 3));
    assert!(dead.last_error.as_deref().unwrap_or_default().contains("down"));
    let mut log = h.ports.blobs.get(&dead.log_key).await?.expect("a log");
    let log = String::from_utf8(read_to_end(log.body.as_mut(), 1 << 20).await?)?;
    assert!(log.contains("dead-lettered"), "{log}");

    flaky.down.store(false, Ordering::SeqCst);
    let retried = service.retry_dead_lettered(&actor).await?;
    assert_eq!(retried.len(), 1);
    assert_eq!(service.process_build(&build.id).await?, BuildRun::Succeeded);
    Ok(())
}

pub async fn builds_stuck_building_are_requeued(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = setup(h).await?;
    let build = version_with(&h.service, &actor, &t, "1", bundle(&[("a", "b")], None)).await?;
    let mut building = build.clone();
    building.status = BuildStatus::Building;
    building.started_at = Some(h.now());
    building.version += 1;
    h.commit([burstflare_core::store::Write::UpdateBuild { build: building, expected_version: build.version }]).await?;
    assert_eq!(h.service.reconcile().await?.requeued_builds, 0, "not stuck yet");
    h.clock.advance_seconds(11 * 60);
    assert_eq!(h.service.reconcile().await?.requeued_builds, 1);
    assert_eq!(h.service.get_build(&actor, &build.id).await?.status, BuildStatus::Retrying);
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    Ok(())
}

/// A request body that breaks off midway (a dropped connection, malformed framing).
struct Broken(u8);

#[async_trait]
impl ByteStream for Broken {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        self.0 += 1;
        match self.0 {
            1 => Ok(Some(vec![0x1f, 0x8b, 0x08])),
            _ => Err(PortError::BodyRead("connection reset".into())),
        }
    }
}

pub async fn an_unreadable_upload_is_a_400_and_keeps_the_bundle(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = setup(h).await?;
    let good = bundle(&[("a", "b")], None);
    let build = version_with(&h.service, &actor, &t, "1", good.clone()).await?;
    let error = h
        .service
        .upload_bundle(&actor, &t, &build.version_id, "application/gzip", &mut Broken(0))
        .await
        .expect_err("a broken body is refused");
    assert_eq!((error.kind(), error.code.as_str()), (burstflare_core::ErrorKind::BadRequest, "invalid_body"));
    let (_, mut blob) = h.service.download_bundle(&actor, &t, &build.version_id).await?;
    assert_eq!(read_to_end(blob.body.as_mut(), 1 << 20).await?, good, "the stored bundle is unchanged");
    Ok(())
}
