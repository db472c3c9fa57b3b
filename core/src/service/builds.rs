//! Builds: listing, logs, manual and bulk retry, and processing — which really checks the bundle
//! (a readable tar.gz whose entries stay inside the root, within size limits, with a matching
//! `burstflare.json` if it has one), records the artefact, writes a line-by-line log to blob
//! storage, and retries transient storage faults with backoff before dead-lettering.

use super::{Actor, Service};
use crate::blob::{read_to_end, BytesBody};
use crate::bundle::{BundleInspector, Limits};
use crate::error::{Code, Error, PortError, Result};
use crate::ids::BuildId;
use crate::machines::builds::{self, BuildEvent};
use crate::manifest::Manifest;
use crate::model::{Artifact, Build, BuildStatus, TemplateVersion, UsageEvent};
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
    Error::new(Code::BuildNotFound, "Build not found")
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
            return Err(Error::new(Code::BuildNotRetryable, "Only failed or dead-lettered builds can be retried"));
        }
        let mut batch = Batch::new();
        let queued = self.requeue(&mut batch, actor, &build).await?;
        self.commit(batch).await?;
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
        Ok(queued)
    }

    async fn requeue(&self, batch: &mut Batch, actor: &Actor, build: &Build) -> Result<Build> {
        let version = self.ports.templates.get_version(&build.template_id, &build.version_id).await?;
        let version = version.ok_or_else(build_not_found)?;
        let (queued, v) = builds::apply(build, &version, BuildEvent::Retried, self.now())?;
        batch
            .push(Write::UpdateBuild { build: queued.clone(), expected_version: build.version })
            .push(Write::UpdateVersion { version: v, expected_version: version.version })
            .push(self.job(Job::Build { build_id: queued.id.clone() }, 0))
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
        let (running, building) = builds::apply(&build, &version, BuildEvent::Claimed, self.now())?;
        let mut claim = Batch::new();
        claim
            .push(Write::UpdateBuild { build: running.clone(), expected_version: build.version })
            .push(Write::UpdateVersion { version: building.clone(), expected_version: version.version });
        if let Err(e) = self.commit(claim).await {
            return match e.kind() {
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
        let max_attempts = self.config.max_build_attempts;
        let event = match check {
            Ok(artifact) => BuildEvent::Succeeded(artifact),
            Err(Check::Invalid(reason)) => BuildEvent::Failed(reason),
            Err(Check::Transient(reason)) => BuildEvent::Faulted { reason, max_attempts },
        };
        let (build, version) = builds::apply(&running, &building, event, now)?;
        let reason = build.last_error.clone().unwrap_or_default();
        let mut batch = Batch::new();
        let (run, action, details) = match build.status {
            BuildStatus::Succeeded => {
                let digest = build.artifact.as_ref().map(|a| a.digest.clone()).unwrap_or_default();
                batch.push(Write::Usage(UsageEvent {
                    id: crate::ids::UsageId::from_uuid(self.ports.random.uuid()),
                    workspace_id: build.workspace_id.clone(),
                    kind: "template_build".into(),
                    value: 1,
                    details: json!({ "templateId": build.template_id.as_str(), "buildId": build.id.as_str() }),
                    created_at: now,
                }));
                (BuildRun::Succeeded, "template.build_succeeded", json!({ "digest": digest }))
            }
            BuildStatus::Failed => {
                (BuildRun::Failed(reason.clone()), "template.build_failed", json!({ "error": reason }))
            }
            BuildStatus::DeadLettered => {
                let details = json!({ "error": reason, "attempts": build.attempts });
                (BuildRun::DeadLettered(reason), "template.build_dead_lettered", details)
            }
            _ => {
                let delay_seconds = builds::retry_delay_seconds(build.attempts);
                batch.push(self.job(Job::Build { build_id: build.id.clone() }, delay_seconds));
                let details = json!({ "error": reason, "attempts": build.attempts, "delaySeconds": delay_seconds });
                (BuildRun::Retrying { reason, delay_seconds }, "template.build_retry_scheduled", details)
            }
        };
        batch
            .push(Write::UpdateBuild { build: build.clone(), expected_version: running.version })
            .push(Write::UpdateVersion { version, expected_version: building.version })
            .push(self.audit(action, None, Some(&build.workspace_id), ("template_build", build.id.as_str()), details));
        self.commit(batch).await?;
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
            let Some(version) = self.ports.templates.get_version(&build.template_id, &build.version_id).await? else {
                continue;
            };
            let (retry, v) = builds::apply(&build, &version, BuildEvent::RunnerLost, self.now())?;
            let mut batch = Batch::new();
            batch
                .push(Write::UpdateBuild { build: retry.clone(), expected_version: build.version })
                .push(Write::UpdateVersion { version: v, expected_version: version.version })
                .push(self.job(Job::Build { build_id: retry.id.clone() }, 0));
            if self.commit(batch).await.is_ok() {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Sends again the jobs of builds that have waited to run since before `before` with a bundle to
    /// check: where jobs are sent after their batch commits (Queues), a send lost to an outage or a
    /// crash leaves its build queued, and this repairs it. A duplicate job is harmless: a build is
    /// claimed by one guarded batch. Returns how many were sent.
    pub(crate) async fn resend_waiting_builds(&self) -> Result<u64> {
        let before = self.now().plus_seconds(-self.config.build_timeout_seconds);
        let mut count = 0;
        for build in self.ports.builds.waiting(before).await? {
            let version = self.ports.templates.get_version(&build.template_id, &build.version_id).await?;
            if version.is_some_and(|v| v.bundle.is_some()) {
                self.ports.jobs.enqueue(Job::Build { build_id: build.id.clone() }, 0).await?;
                count += 1;
            }
        }
        Ok(count)
    }
}
