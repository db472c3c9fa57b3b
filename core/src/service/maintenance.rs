//! Background jobs: what a reconcile pass does, and the dispatcher the job runners (the Worker's
//! queue consumer, the native job runner) call.

use super::builds::BuildRun;
use super::session_reconcile::SessionSweep;
use super::Service;
use crate::error::Result;
use crate::ports::{Job, Purged};

/// What a reconcile pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub purged: Purged,
    /// Builds found stuck in `building` and handed back to the queue.
    pub requeued_builds: u64,
    /// Builds found waiting too long for their job, whose job was sent again.
    pub resent_builds: u64,
    pub sessions: SessionSweep,
}

/// What a job did, for the runner to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Reconciled(ReconcileReport),
    Built(BuildRun),
}

impl Service {
    /// Removes expired tokens, device codes and ended rate-limit windows, requeues stuck builds,
    /// sends again the jobs of builds left waiting, and sweeps sessions (see `session_reconcile`).
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let purged = self.ports.housekeeping.purge_expired(self.now()).await?;
        let requeued_builds = self.requeue_stuck_builds().await?;
        let resent_builds = self.resend_waiting_builds().await?;
        let sessions = self.sweep_sessions(None).await?;
        Ok(ReconcileReport { purged, requeued_builds, resent_builds, sessions })
    }

    /// Runs one job. An error means the job should be retried (and dead-lettered in the end).
    pub async fn run_job(&self, job: &Job) -> Result<JobOutcome> {
        match job {
            Job::Reconcile { .. } => Ok(JobOutcome::Reconciled(self.reconcile().await?)),
            Job::Build { build_id } => Ok(JobOutcome::Built(self.process_build(build_id).await?)),
        }
    }
}
