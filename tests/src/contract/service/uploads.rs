//! Bundle uploads against builds and promotion: an upload that loses its race changes nothing (its
//! object goes, the committed bundle stays), a built version is immutable, a grant is spent only by
//! an upload that lands, promotion refuses a bundle that is not what its build checked, and the
//! plan's template quota holds under concurrent creates.

use crate::contract::harness::{expect_code, Harness};
use crate::http::bundles::{bundle, hostile};
use async_trait::async_trait;
use burstflare_core::blob::{read_to_end, Blob, BlobInfo, BlobStore, ByteStream, BytesBody};
use burstflare_core::ids::{TemplateId, VersionId, WorkspaceId};
use burstflare_core::model::{BuildStatus, Release, Template, TemplateVersion, VersionStatus};
use burstflare_core::ports::{PortResult, TemplateRepo};
use burstflare_core::service::BuildRun;
use burstflare_core::{Actor, Config, Service};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A body whose first half arrives at once and whose rest waits until the test opens the gate.
struct Gated {
    first: Option<Vec<u8>>,
    rest: Option<Vec<u8>>,
    gate: Option<oneshot::Receiver<()>>,
}

impl Gated {
    fn new(bytes: Vec<u8>) -> (Self, oneshot::Sender<()>) {
        let (open, gate) = oneshot::channel();
        let mut first = bytes;
        let rest = first.split_off(first.len() / 2);
        (Self { first: Some(first), rest: Some(rest), gate: Some(gate) }, open)
    }
}

#[async_trait]
impl ByteStream for Gated {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if let Some(gate) = self.gate.take() {
            let _ = gate.await;
        }
        Ok(self.rest.take())
    }
}

async fn setup(h: &Harness) -> anyhow::Result<(Actor, TemplateId, VersionId)> {
    let owner = h.register("owner@example.com").await?;
    let actor = h.actor(&owner).await?;
    let t = h.service.create_template(&actor, "node-dev", None).await?.template.id;
    let (version, _) = h.service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    Ok((actor, t, version.id))
}

async fn stored(h: &Harness, actor: &Actor, t: &TemplateId, v: &VersionId) -> anyhow::Result<Vec<u8>> {
    let (_, mut blob) = h.service.download_bundle(actor, t, v).await?;
    Ok(read_to_end(blob.body.as_mut(), 1 << 20).await?)
}

pub async fn an_upload_that_loses_its_race_changes_nothing(h: &Harness) -> anyhow::Result<()> {
    let (actor, t, v) = setup(h).await?;
    let good = bundle(&[("a.txt", "a")], None);
    let (mut evil, open) = Gated::new(hostile("../../etc/cron.d/x", None));
    let slow = h.service.upload_bundle(&actor, &t, &v, "application/gzip", &mut evil);
    let meanwhile = async {
        let (_, build) =
            h.service.upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(good.clone())).await?;
        assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
        let _ = open.send(());
        anyhow::Ok(())
    };
    let (slow, meanwhile) = tokio::join!(slow, meanwhile);
    meanwhile?;
    expect_code(slow, "version_immutable");
    assert_eq!(stored(h, &actor, &t, &v).await?, good, "the built bundle is still the one served");
    let view = h.service.show_template(&actor, &t).await?;
    let (version, build) = &view.versions[0];
    assert_eq!(version.status, VersionStatus::Ready);
    assert_eq!(build.as_ref().map(|b| b.status), Some(BuildStatus::Succeeded));
    h.service.promote(&actor, &t, &v).await?;
    Ok(())
}

/// Records the keys written and deleted through it.
struct Recording {
    inner: Arc<dyn BlobStore>,
    puts: Mutex<Vec<String>>,
    deletes: Mutex<Vec<String>>,
}

#[async_trait]
impl BlobStore for Recording {
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        self.puts.lock().expect("lock").push(key.to_string());
        self.inner.put(key, content_type, body, limit).await
    }
    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        self.inner.get(key).await
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.deletes.lock().expect("lock").push(key.to_string());
        self.inner.delete(key).await
    }
}

pub async fn an_upload_overtaken_by_another_leaves_the_winner(h: &Harness) -> anyhow::Result<()> {
    let (actor, t, v) = setup(h).await?;
    let recording =
        Arc::new(Recording { inner: h.ports.blobs.clone(), puts: Mutex::default(), deletes: Mutex::default() });
    let mut ports = h.ports.clone();
    ports.blobs = recording.clone();
    let service = Service::new(ports, Config::default());
    let (first, second, third) =
        (bundle(&[("1.txt", "1")], None), bundle(&[("2.txt", "2")], None), bundle(&[("3.txt", "3")], None));
    service.upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(first)).await?;
    let (mut slow_body, open) = Gated::new(second);
    let slow = service.upload_bundle(&actor, &t, &v, "application/gzip", &mut slow_body);
    let meanwhile = async {
        service.upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(third.clone())).await?;
        let _ = open.send(());
        anyhow::Ok(())
    };
    let (slow, meanwhile) = tokio::join!(slow, meanwhile);
    meanwhile?;
    expect_code(slow, "version_changed");
    assert_eq!(stored(h, &actor, &t, &v).await?, third);
    let current = service.show_template(&actor, &t).await?.versions[0].0.bundle.clone().map(|b| b.key);
    let puts = recording.puts.lock().expect("lock").clone();
    let deletes = recording.deletes.lock().expect("lock").clone();
    assert_eq!(puts.len(), 3, "every upload wrote a fresh key: {puts:?}");
    assert_eq!(puts.iter().collect::<HashSet<_>>().len(), 3, "{puts:?}");
    for key in &puts {
        let gone = h.blobs.get(key).await?.is_none();
        assert_eq!(Some(key) != current.as_ref(), gone, "only the committed bundle is kept: {key}");
        assert_eq!(gone, deletes.contains(key));
    }
    Ok(())
}

pub async fn built_versions_are_immutable(h: &Harness) -> anyhow::Result<()> {
    let (actor, t, v) = setup(h).await?;
    let good = bundle(&[("a.txt", "a")], None);
    let (_, build) =
        h.service.upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(good.clone())).await?;
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    h.service.promote(&actor, &t, &v).await?;
    let evil = hostile("/etc/passwd", None);
    let refused = h.service.upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(evil.clone())).await;
    expect_code(refused, "version_immutable");
    let grant = h.service.create_upload_grant(&actor, &t, &v, "application/gzip", evil.len() as u64).await;
    if let Ok((_, secret)) = grant {
        let refused = h.service.upload_with_grant(secret.expose(), "application/gzip", &mut BytesBody::new(evil)).await;
        expect_code(refused, "version_immutable");
    }
    assert_eq!(stored(h, &actor, &t, &v).await?, good);
    Ok(())
}

pub async fn a_failed_grant_upload_leaves_the_grant_usable(h: &Harness) -> anyhow::Result<()> {
    let (actor, t, v) = setup(h).await?;
    let good = bundle(&[("a.txt", "a")], None);
    let (_, secret) = h.service.create_upload_grant(&actor, &t, &v, "application/gzip", good.len() as u64).await?;
    let short = BytesBody::new(good[..good.len() / 2].to_vec());
    expect_code(
        h.service.upload_with_grant(secret.expose(), "application/gzip", &mut { short }).await,
        "size_mismatch",
    );
    h.service.upload_with_grant(secret.expose(), "application/gzip", &mut BytesBody::new(good.clone())).await?;
    let again = h.service.upload_with_grant(secret.expose(), "application/gzip", &mut BytesBody::new(good)).await;
    expect_code(again, "upload_grant_not_found");
    Ok(())
}

pub async fn promotion_refuses_a_bundle_its_build_did_not_check(h: &Harness) -> anyhow::Result<()> {
    let (actor, t, v) = setup(h).await?;
    let (version, build) = h
        .service
        .upload_bundle(&actor, &t, &v, "application/gzip", &mut BytesBody::new(bundle(&[("a", "a")], None)))
        .await?;
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    // Storage changed under the record (an operator's mistake, a restore from another backup).
    let key = version.bundle.map(|b| b.key).unwrap_or_default();
    let other = bundle(&[("b", "b")], None);
    h.blobs.put(&key, "application/gzip", &mut BytesBody::new(other), 1 << 20).await?;
    expect_code(h.service.promote(&actor, &t, &v).await, "bundle_digest_mismatch");
    assert_eq!(h.service.show_template(&actor, &t).await?.template.active_version_id, None);
    Ok(())
}

/// Holds the first `n` template listings until all `n` arrived: `n` creates then all pass the
/// quota pre-check before any of them commits (the race, driven deterministically).
struct ListTogether {
    inner: Arc<dyn TemplateRepo>,
    barrier: tokio::sync::Barrier,
    calls: AtomicUsize,
    n: usize,
}

#[async_trait]
impl TemplateRepo for ListTogether {
    async fn get(&self, w: &WorkspaceId, id: &TemplateId) -> PortResult<Option<Template>> {
        self.inner.get(w, id).await
    }
    async fn list(&self, w: &WorkspaceId) -> PortResult<Vec<Template>> {
        let listed = self.inner.list(w).await;
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.n {
            self.barrier.wait().await;
        }
        listed
    }
    async fn versions(&self, t: &TemplateId) -> PortResult<Vec<TemplateVersion>> {
        self.inner.versions(t).await
    }
    async fn get_version(&self, t: &TemplateId, id: &VersionId) -> PortResult<Option<TemplateVersion>> {
        self.inner.get_version(t, id).await
    }
    async fn releases(&self, w: &WorkspaceId, t: Option<&TemplateId>) -> PortResult<Vec<Release>> {
        self.inner.releases(w, t).await
    }
}

pub async fn racing_template_creates_stay_within_the_plan(h: &Harness) -> anyhow::Result<()> {
    let owner = h.register("owner@example.com").await?;
    let actor = h.actor(&owner).await?;
    for i in 0..9 {
        h.service.create_template(&actor, &format!("t{i}"), None).await?;
    }
    let n = 3;
    let mut ports = h.ports.clone();
    let together = ListTogether {
        inner: h.ports.templates.clone(),
        barrier: tokio::sync::Barrier::new(n),
        calls: AtomicUsize::new(0),
        n,
    };
    ports.templates = Arc::new(together);
    let service = Service::new(ports, Config::default());
    let names: Vec<String> = (0..n).map(|i| format!("racer{i}")).collect();
    let racers = names.iter().map(|name| service.create_template(&actor, name, None));
    let outcomes = futures_join_all(racers).await;
    let created = outcomes.iter().filter(|o| o.is_ok()).count();
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(refused.code.as_str(), "template_limit", "{refused:?}");
    }
    let stored = h.ports.templates.list(&actor.workspace_id).await?.len();
    assert_eq!((created, stored), (1, 10), "the free plan allows 10 templates");
    Ok(())
}

/// Polls every future in one task until all are done, in order.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
