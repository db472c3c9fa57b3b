//! The build state machine: one pure function, [`apply`], takes a build and its version and an
//! event, and returns both rows as they must be stored — status, attempts, error, artefact, every
//! timestamp, the version's status and built time, and both row versions — or refuses the event.
//! Every status change of a build goes through it; adapters only store what it decided.
//!
//! ```text
//!            BundleUploaded (from any state but succeeded)
//!                  │
//!   Retried ──► queued ──Claimed──► building ──Succeeded──► succeeded
//!     ▲            ▲                  │  │  └──Failed──────► failed ───────┐
//!     │            └──── retrying ◄───┘  └──Faulted (last)─► dead_lettered ┤
//!     │                (Faulted, RunnerLost)                               │
//!     └────────────────────────────────────────────────────────────────────┘
//! ```

use crate::error::{Code, Error};
use crate::model::{Artifact, Build, BuildStatus, TemplateVersion, VersionStatus};
use crate::time::Timestamp;

/// Why a build's state changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A new bundle was recorded for the version: the build starts over from nothing.
    BundleUploaded,
    /// A person asked for another try of a failed or dead-lettered build.
    Retried,
    /// A runner took the build.
    Claimed,
    /// The bundle passed every check.
    Succeeded(Artifact),
    /// The bundle is invalid; retrying will not help until it changes.
    Failed(String),
    /// A transient fault (storage); the build retries until `max_attempts` attempts were made.
    Faulted { reason: String, max_attempts: u32 },
    /// The runner stopped mid-build (it died, or the server restarted).
    RunnerLost,
}

impl BuildEvent {
    fn name(&self) -> &'static str {
        match self {
            BuildEvent::BundleUploaded => "upload a bundle for",
            BuildEvent::Retried => "retry",
            BuildEvent::Claimed => "start",
            BuildEvent::Succeeded(_) => "succeed",
            BuildEvent::Failed(_) => "fail",
            BuildEvent::Faulted { .. } => "fault",
            BuildEvent::RunnerLost => "requeue",
        }
    }
}

/// What the version's status is while its build is in `status`.
pub fn version_status(status: BuildStatus) -> VersionStatus {
    match status {
        BuildStatus::Queued | BuildStatus::Retrying => VersionStatus::Queued,
        BuildStatus::Building => VersionStatus::Building,
        BuildStatus::Succeeded => VersionStatus::Ready,
        BuildStatus::Failed | BuildStatus::DeadLettered => VersionStatus::Failed,
    }
}

/// The message a requeued build keeps as its last error.
pub const RUNNER_LOST: &str = "the runner stopped mid-build; requeued";

/// The build and version after `event` at `at`, or a 409 `build_transition` if the event cannot
/// happen in the build's current state (a succeeded build's version never changes:
/// `version_immutable`).
pub fn apply(
    build: &Build,
    version: &TemplateVersion,
    event: BuildEvent,
    at: Timestamp,
) -> Result<(Build, TemplateVersion), Error> {
    use BuildStatus::*;
    let mut next = build.clone();
    match (build.status, event) {
        (Succeeded, BuildEvent::BundleUploaded) => {
            return Err(Error::new(
                Code::VersionImmutable,
                "This version was built and can no longer change; add a new version instead",
            ))
        }
        (_, BuildEvent::BundleUploaded) | (Failed | DeadLettered, BuildEvent::Retried) => {
            next.status = Queued;
            next.attempts = 0;
            next.last_error = None;
            next.artifact = None;
            next.started_at = None;
            next.finished_at = None;
            next.dead_lettered_at = None;
        }
        (Queued | Retrying, BuildEvent::Claimed) => {
            next.status = Building;
            next.attempts = build.attempts.saturating_add(1);
            next.started_at = Some(at);
            next.finished_at = None;
        }
        (Building, BuildEvent::Succeeded(artifact)) => {
            next.status = Succeeded;
            next.finished_at = Some(at);
            next.last_error = None;
            next.artifact = Some(artifact);
        }
        (Building, BuildEvent::Failed(reason)) => {
            next.status = Failed;
            next.finished_at = Some(at);
            next.last_error = Some(reason);
        }
        (Building, BuildEvent::Faulted { reason, max_attempts }) if build.attempts >= max_attempts => {
            next.status = DeadLettered;
            next.finished_at = Some(at);
            next.dead_lettered_at = Some(at);
            next.last_error = Some(reason);
        }
        (Building, BuildEvent::Faulted { reason, .. }) => {
            next.status = Retrying;
            next.last_error = Some(reason);
        }
        (Building, BuildEvent::RunnerLost) => {
            next.status = Retrying;
            next.last_error = Some(RUNNER_LOST.to_string());
        }
        (from, event) => {
            return Err(Error::new(Code::BuildTransition, format!("A {} build cannot {}", from.as_str(), event.name())))
        }
    }
    next.updated_at = at;
    next.version = build.version + 1;
    let mut v = version.clone();
    v.status = version_status(next.status);
    v.built_at = match next.status {
        Succeeded => Some(at),
        Queued => None,
        _ => version.built_at,
    };
    v.version = version.version + 1;
    Ok((next, v))
}

/// The delay before retry number `attempts` + 1 of a faulted build: 5 s, 10 s, 20 s, … (capped).
pub fn retry_delay_seconds(attempts: u32) -> u32 {
    5u32.saturating_mul(1 << attempts.min(10))
}

#[cfg(test)]
#[path = "builds_tests.rs"]
mod tests;
