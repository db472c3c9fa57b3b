//! No lost jobs: where the job queue is the store's own table, a batch's jobs are queued by its
//! commit (an outbox: a failing send after the commit cannot lose them, a refused batch queues
//! nothing); where jobs are sent after the commit (Queues), a send lost to an outage leaves the
//! build waiting, and reconcile sends it again. Also the two build bugs the state machine fixed:
//! a retried build forgets when its last run finished, and a requeued stuck build hands its
//! version back to the queue.

use crate::contract::harness::Harness;
use crate::http::bundles::bundle;
use async_trait::async_trait;
use burstflare_core::blob::BytesBody;
use burstflare_core::error::PortError;
use burstflare_core::machines::builds::{self, BuildEvent};
use burstflare_core::model::{BuildStatus, VersionStatus};
use burstflare_core::ports::{Job, JobQueue, PortResult};
use burstflare_core::service::BuildRun;
use burstflare_core::store::Write;
use burstflare_core::{Actor, Config, Service};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A job queue whose sends fail while `down` is set (fault injection); `outbox` says whether it
/// presents itself as the store's own table.
struct Outage {
    inner: Arc<dyn JobQueue>,
    down: AtomicBool,
    outbox: bool,
}

#[async_trait]
impl JobQueue for Outage {
    async fn enqueue(&self, job: Job, delay_seconds: u32) -> PortResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("the queue is down".into()));
        }
        self.inner.enqueue(job, delay_seconds).await
    }
    fn reads_store(&self) -> bool {
        self.outbox
    }
}

fn with_queue(h: &Harness, outbox: bool) -> (Service, Arc<Outage>) {
    let outage = Arc::new(Outage { inner: h.ports.jobs.clone(), down: AtomicBool::new(true), outbox });
    let mut ports = h.ports.clone();
    ports.jobs = outage.clone();
    (Service::new(ports, Config::default()), outage)
}

async fn owner(h: &Harness) -> anyhow::Result<Actor> {
    let owner = h.register("owner@example.com").await?;
    Ok(h.actor(&owner).await?)
}

/// The build jobs a runner would be handed now, completed as they are taken.
async fn claim_builds(h: &Harness) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    while let Some(claimed) = h.jobs.claim(h.now(), 60_000).await? {
        h.jobs.complete(&claimed.id).await?;
        jobs.push(claimed.job);
    }
    Ok(jobs)
}

pub async fn jobs_are_queued_by_the_commit_of_their_batch(h: &Harness) -> anyhow::Result<()> {
    let actor = owner(h).await?;
    let (service, _) = with_queue(h, true);
    let t = service.create_template(&actor, "node-dev", None).await?.template.id;
    let (version, build) = service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    let archive = bundle(&[("a", "a")], None);
    service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    let queued = claim_builds(h).await?;
    assert_eq!(queued, vec![Job::Build { build_id: build.id.clone() }; 2], "one job per batch that asked for one");
    // A refused batch queues nothing.
    let again = service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await;
    assert_eq!(again.map(|_| ()).map_err(|e| e.code.as_str()), Err("version_exists"));
    assert_eq!(claim_builds(h).await?, vec![]);
    Ok(())
}

pub async fn a_lost_send_is_repaired_by_reconcile(h: &Harness) -> anyhow::Result<()> {
    let actor = owner(h).await?;
    let (service, outage) = with_queue(h, false);
    let t = service.create_template(&actor, "node-dev", None).await?.template.id;
    let (version, build) = service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    let archive = bundle(&[("a", "a")], None);
    // The queue is down: the upload still commits (the send comes after), and nothing is queued.
    service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    assert_eq!(claim_builds(h).await?, vec![]);
    assert_eq!(service.get_build(&actor, &build.id).await?.status, BuildStatus::Queued);
    outage.down.store(false, Ordering::SeqCst);
    assert_eq!(service.reconcile().await?.resent_builds, 0, "not waiting long enough yet");
    h.clock.advance_seconds(11 * 60);
    assert_eq!(service.reconcile().await?.resent_builds, 1);
    assert_eq!(claim_builds(h).await?, vec![Job::Build { build_id: build.id.clone() }]);
    assert_eq!(service.process_build(&build.id).await?, BuildRun::Succeeded);
    h.clock.advance_seconds(11 * 60);
    assert_eq!(service.reconcile().await?.resent_builds, 0, "a finished build is not sent again");
    Ok(())
}

pub async fn a_retried_build_forgets_its_last_run(h: &Harness) -> anyhow::Result<()> {
    let actor = owner(h).await?;
    let t = h.service.create_template(&actor, "node-dev", None).await?.template.id;
    let (version, build) = h.service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    let archive = crate::http::bundles::hostile("../evil", None);
    h.service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    assert!(matches!(h.service.process_build(&build.id).await?, BuildRun::Failed(_)));
    assert!(h.service.get_build(&actor, &build.id).await?.finished_at.is_some());
    let retried = h.service.retry_build(&actor, &build.id).await?;
    let stored = h.service.get_build(&actor, &build.id).await?;
    assert_eq!(stored, retried);
    assert_eq!(
        (stored.status, stored.attempts, stored.finished_at, stored.started_at),
        (BuildStatus::Queued, 0, None, None)
    );
    assert_eq!(stored.last_error, None);
    Ok(())
}

pub async fn a_requeued_stuck_build_hands_its_version_back(h: &Harness) -> anyhow::Result<()> {
    let actor = owner(h).await?;
    let t = h.service.create_template(&actor, "node-dev", None).await?.template.id;
    let (version, build) = h.service.add_version(&actor, &t, "1.0.0", &json!({ "image": "node:22" }), None).await?;
    let archive = bundle(&[("a", "a")], None);
    h.service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    // A runner claims the build, then dies.
    let build = h.service.get_build(&actor, &build.id).await?;
    let version = h.ports.templates.get_version(&t, &version.id).await?.expect("version");
    let (running, building) = builds::apply(&build, &version, BuildEvent::Claimed, h.now())?;
    h.commit([
        Write::UpdateBuild { build: running.clone(), expected_version: build.version },
        Write::UpdateVersion { version: building, expected_version: version.version },
    ])
    .await?;
    let shown = h.service.show_template(&actor, &t).await?;
    assert_eq!(shown.versions[0].0.status, VersionStatus::Building);
    h.clock.advance_seconds(11 * 60);
    assert_eq!(h.service.reconcile().await?.requeued_builds, 1);
    let shown = h.service.show_template(&actor, &t).await?;
    assert_eq!(shown.versions[0].0.status, VersionStatus::Queued, "the version is no longer shown as building");
    assert_eq!(shown.versions[0].1.as_ref().map(|b| b.status), Some(BuildStatus::Retrying));
    assert_eq!(h.service.process_build(&running.id).await?, BuildRun::Succeeded);
    Ok(())
}
