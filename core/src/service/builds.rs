//! Builds: listing, logs, manual and bulk retry, and processing — which really checks the bundle
//! (a readable tar.gz whose entries stay inside the root, within size limits, with a matching
//! `burstflare.json` if it has one), records the artefact, writes a line-by-line log to blob
//! storage, and retries transient storage faults with backoff before dead-lettering.

use super::{Actor, Service};
use crate::blob::{read_to_end, BytesBody};
use crate::bundle::{BundleInspector, Limits};
use crate::error::{Error, PortError, Result};
use crate::ids::BuildId;
use crate::manifest::Manifest;
use crate::model::{Artifact, Build, BuildStatus, TemplateVersion, UsageEvent, VersionStatus};
use crate::ports::Job;
use crate::store::{Batch, Write};
use crate::values::Role;
use serde_json::json;

/// Build logs are small; reading one back is capped at this size.
const LOG_LIMIT: u64 = 1024 * 1024;

/// What one processing run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildRun {
    /// Nothing to do (not runnable, no bundle yet, gone, or taken by another runner).
    Skipped(String),
    Succeeded,
    /// The bundle is invalid.
    Failed(String),
    /// A transient fault; another attempt is scheduled after `delay_seconds`.
    Retrying {
        reason: String,
        delay_seconds: u32,
    },
    DeadLettered(String),
}

/// Why a check did not pass.
enum Check {
    Invalid(String),
    Transient(String),
}

fn transient(e: PortError) -> Check {
    Check::Transient(format!("storage fault: {e}"))
}

fn build_not_found() -> Error {
    Error::not_found("build_not_found", "Build not found")
}

impl Service {
    pub async fn list_builds(&self, actor: &Actor) -> Result<Vec<Build>> {
        Ok(self.ports.builds.list(&actor.workspace_id).await?)
    }

    /// A build of the caller's workspace, or 404.
    pub async fn get_build(&self, actor: &Actor, id: &BuildId) -> Result<Build> {
        let build = self.ports.builds.get(id).await?.filter(|b| b.workspace_id == actor.workspace_id);
        build.ok_or_else(build_not_found)
    }

    /// The build's log as stored by its last run.
    pub async fn build_log(&self, actor: &Actor, id: &BuildId) -> Result<String> {
        let build = self.get_build(actor, id).await?;
        match self.ports.blobs.get(&build.log_key).await? {
            Some(mut blob) => {
                Ok(String::from_utf8_lossy(&read_to_end(blob.body.as_mut(), LOG_LIMIT).await?).into_owned())
            }
            None => Ok(format!("build {} is {}; it has not run yet\n", build.id, build.status.as_str())),
        }
    }

    /// Queues a failed or dead-lettered build again, with fresh attempts.
    pub async fn retry_build(&self, actor: &Actor, id: &BuildId) -> Result<Build> {
        actor.require(Role::Admin)?;
        let build = self.get_build(actor, id).await?;
        if !build.status.is_retryable() {
            return Err(Error::conflict("build_not_retryable", "Only failed or dead-lettered builds can be retried"));
        }
        let mut batch = Batch::new();
        let queued = self.requeue(&mut batch, actor, &build).await?;
        self.commit(batch).await?;
        self.ports.jobs.enqueue(Job::Build { build_id: queued.id.clone() }, 0).await?;
        Ok(queued)
    }

    /// Retries every dead-lettered build of the workspace; returns them.
    pub async fn retry_dead_lettered(&self, actor: &Actor) -> Result<Vec<Build>> {
        actor.require(Role::Admin)?;
        let dead: Vec<Build> = self
            .ports
            .builds
            .list(&actor.workspace_id)
            .await?
            .into_iter()
            .filter(|b| b.status == BuildStatus::DeadLettered)
            .collect();
        let mut batch = Batch::new();
        let mut queued = Vec::new();
        for build in &dead {
            queued.push(self.requeue(&mut batch, actor, build).await?);
        }
        self.commit(batch).await?;
        for build in &queued {
            self.ports.jobs.enqueue(Job::Build { build_id: build.id.clone() }, 0).await?;
        }
        Ok(queued)
    }

    async fn requeue(&self, batch: &mut Batch, actor: &Actor, build: &Build) -> Result<Build> {
        let version = self.ports.templates.get_version(&build.template_id, &build.version_id).await?;
        let version = version.ok_or_else(build_not_found)?;
        let mut queued = build.clone();
        queued.status = BuildStatus::Queued;
        queued.attempts = 0;
        queued.last_error = None;
        queued.dead_lettered_at = None;
        queued.updated_at = self.now();
        queued.version += 1;
        let mut v = version.clone();
        v.status = VersionStatus::Queued;
        v.version += 1;
        batch
            .push(Write::UpdateBuild { build: queued.clone(), expected_version: build.version })
            .push(Write::UpdateVersion { version: v, expected_version: version.version })
            .push(self.audit(
                "template.build_retried",
                Some(&actor.user.id),
                Some(&actor.workspace_id),
                ("template_build", build.id.as_str()),
                json!({ "previousStatus": build.status.as_str() }),
            ));
        Ok(queued)
    }

    /// Runs one build if it is runnable and has a bundle (the job runners call this).
    pub async fn process_build(&self, id: &BuildId) -> Result<BuildRun> {
        let Some(build) = self.ports.builds.get(id).await? else {
            return Ok(BuildRun::Skipped("the build no longer exists".into()));
        };
        if !build.status.is_runnable() {
            return Ok(BuildRun::Skipped(format!("the build is {}", build.status.as_str())));
        }
        let Some(version) = self.ports.templates.get_version(&build.template_id, &build.version_id).await? else {
            return Ok(BuildRun::Skipped("the version no longer exists".into()));
        };
        let Some(bundle) = version.bundle.clone() else {
            return Ok(BuildRun::Skipped("waiting for a bundle upload".into()));
        };
        let now = self.now();
        let mut running = build.clone();
        running.status = BuildStatus::Building;
        running.attempts += 1;
        running.started_at = Some(now);
        running.updated_at = now;
        running.version += 1;
        let mut building = version.clone();
        building.status = VersionStatus::Building;
        building.version += 1;
        let mut claim = Batch::new();
        claim
            .push(Write::UpdateBuild { build: running.clone(), expected_version: build.version })
            .push(Write::UpdateVersion { version: building.clone(), expected_version: version.version });
        if let Err(e) = self.commit(claim).await {
            return match e.kind {
                crate::ErrorKind::Conflict => Ok(BuildRun::Skipped("taken by another runner".into())),
                _ => Err(e),
            };
        }
        let max = self.config.max_build_attempts;
        let mut log = vec![
            format!("build {} of template {} version {}", running.id, running.template_id, building.label),
            format!("attempt {} of {max}", running.attempts),
            format!("bundle: {} ({} bytes, {})", bundle.key, bundle.bytes, bundle.content_type),
        ];
        let mut check = self.check_bundle(&bundle.key, &building.manifest, &mut log).await;
        let outcome = match &check {
            Ok(_) => "result: succeeded".to_string(),
            Err(Check::Invalid(reason)) => format!("result: failed: {reason}"),
            Err(Check::Transient(reason)) if running.attempts >= max => format!("result: dead-lettered: {reason}"),
            Err(Check::Transient(reason)) => format!("result: will retry: {reason}"),
        };
        log.push(outcome);
        let text = log.join("\n") + "\n";
        if let Err(e) = self
            .ports
            .blobs
            .put(&running.log_key, "text/plain; charset=utf-8", &mut BytesBody::new(text), LOG_LIMIT)
            .await
        {
            if check.is_ok() {
                check = Err(transient(e));
            }
        }
        self.finish_build(running, building, check).await
    }

    async fn check_bundle(
        &self,
        key: &str,
        manifest: &Manifest,
        log: &mut Vec<String>,
    ) -> std::result::Result<Artifact, Check> {
        let mut blob = match self.ports.blobs.get(key).await {
            Ok(Some(blob)) => blob,
            Ok(None) => return Err(Check::Invalid("the bundle is missing from storage; upload it again".into())),
            Err(e) => return Err(transient(e)),
        };
        let mut inspector = BundleInspector::new(Limits::default());
        while let Some(chunk) = blob.body.next_chunk().await.map_err(transient)? {
            inspector.feed(&chunk).map_err(|e| Check::Invalid(e.to_string()))?;
        }
        let report = inspector.finish().map_err(|e| Check::Invalid(e.to_string()))?;
        log.extend(report.log.iter().cloned());
        if let Some(bytes) = &report.manifest {
            let inside = serde_json::from_slice::<serde_json::Value>(bytes)
                .map_err(|e| Check::Invalid(format!("burstflare.json is not valid JSON: {e}")))?;
            let inside =
                Manifest::parse(&inside).map_err(|e| Check::Invalid(format!("burstflare.json: {}", e.message)))?;
            if &inside != manifest {
                return Err(Check::Invalid("burstflare.json in the bundle differs from the version's manifest".into()));
            }
            log.push("manifest: burstflare.json matches the version's manifest".into());
        } else {
            log.push("manifest: no burstflare.json in the bundle; the version's manifest applies".into());
        }
        log.push(format!("digest: sha256:{}", report.sha256_hex));
        Ok(Artifact {
            digest: format!("sha256:{}", report.sha256_hex),
            file_count: report.files,
            unpacked_bytes: report.unpacked_bytes,
        })
    }

    async fn finish_build(
        &self,
        running: Build,
        building: TemplateVersion,
        check: std::result::Result<Artifact, Check>,
    ) -> Result<BuildRun> {
        let now = self.now();
        let (mut build, mut version) = (running.clone(), building.clone());
        build.updated_at = now;
        build.version += 1;
        version.version += 1;
        let mut batch = Batch::new();
        let (run, action, details) = match check {
            Ok(artifact) => {
                build.status = BuildStatus::Succeeded;
                build.finished_at = Some(now);
                build.last_error = None;
                build.artifact = Some(artifact.clone());
                version.status = VersionStatus::Ready;
                version.built_at = Some(now);
                batch.push(Write::Usage(UsageEvent {
                    id: crate::ids::UsageId::from_uuid(self.ports.random.uuid()),
                    workspace_id: build.workspace_id.clone(),
                    kind: "template_build".into(),
                    value: 1,
                    details: json!({ "templateId": build.template_id.as_str(), "buildId": build.id.as_str() }),
                    created_at: now,
                }));
                (BuildRun::Succeeded, "template.build_succeeded", json!({ "digest": artifact.digest }))
            }
            Err(Check::Invalid(reason)) => {
                build.status = BuildStatus::Failed;
                build.finished_at = Some(now);
                build.last_error = Some(reason.clone());
                version.status = VersionStatus::Failed;
                (BuildRun::Failed(reason.clone()), "template.build_failed", json!({ "error": reason }))
            }
            Err(Check::Transient(reason)) if build.attempts >= self.config.max_build_attempts => {
                build.status = BuildStatus::DeadLettered;
                build.finished_at = Some(now);
                build.dead_lettered_at = Some(now);
                build.last_error = Some(reason.clone());
                version.status = VersionStatus::Failed;
                let details = json!({ "error": reason, "attempts": build.attempts });
                (BuildRun::DeadLettered(reason), "template.build_dead_lettered", details)
            }
            Err(Check::Transient(reason)) => {
                build.status = BuildStatus::Retrying;
                build.last_error = Some(reason.clone());
                version.status = VersionStatus::Queued;
                let delay_seconds = 5u32.saturating_mul(1 << build.attempts.min(10));
                let details = json!({ "error": reason, "attempts": build.attempts, "delaySeconds": delay_seconds });
                (BuildRun::Retrying { reason, delay_seconds }, "template.build_retry_scheduled", details)
            }
        };
        batch
            .push(Write::UpdateBuild { build: build.clone(), expected_version: running.version })
            .push(Write::UpdateVersion { version, expected_version: building.version })
            .push(self.audit(action, None, Some(&build.workspace_id), ("template_build", build.id.as_str()), details));
        self.commit(batch).await?;
        if let BuildRun::Retrying { delay_seconds, .. } = &run {
            self.ports.jobs.enqueue(Job::Build { build_id: build.id.clone() }, *delay_seconds).await?;
        }
        Ok(run)
    }

    /// Hands builds stuck in `building` past the timeout (a runner died mid-build) back to the
    /// queue; returns how many.
    pub(crate) async fn requeue_stuck_builds(&self) -> Result<u64> {
        self.requeue_building(self.now().plus_seconds(-self.config.build_timeout_seconds)).await
    }

    /// For a single-process deployment starting up: no build can still be running, so every build
    /// left in `building` (the server was killed mid-build) is queued again now.
    pub async fn recover_interrupted_builds(&self) -> Result<u64> {
        self.requeue_building(self.now()).await
    }

    async fn requeue_building(&self, before: crate::time::Timestamp) -> Result<u64> {
        let mut count = 0;
        for build in self.ports.builds.stuck(before).await? {
            let mut retry = build.clone();
            retry.status = BuildStatus::Retrying;
            retry.last_error = Some("the runner stopped mid-build; requeued".into());
            retry.updated_at = self.now();
            retry.version += 1;
            let mut batch = Batch::new();
            batch.push(Write::UpdateBuild { build: retry.clone(), expected_version: build.version });
            if self.commit(batch).await.is_ok() {
                self.ports.jobs.enqueue(Job::Build { build_id: retry.id.clone() }, 0).await?;
                count += 1;
            }
        }
        Ok(count)
    }
}
