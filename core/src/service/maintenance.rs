//! Background jobs: what a reconcile pass does, and the dispatcher the job runners (the Worker's
//! queue consumer, the native server's timer) call.

use super::Service;
use crate::error::Result;
use crate::ports::{Job, Purged};

/// What a job did, for the runner to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Reconciled(Purged),
}

impl Service {
    /// Removes expired tokens, device codes and ended rate-limit windows.
    pub async fn reconcile(&self) -> Result<Purged> {
        Ok(self.ports.housekeeping.purge_expired(self.now()).await?)
    }

    /// Runs one job. An error means the job should be retried (and dead-lettered in the end).
    pub async fn run_job(&self, job: &Job) -> Result<JobOutcome> {
        match job {
            Job::Reconcile { .. } => Ok(JobOutcome::Reconciled(self.reconcile().await?)),
        }
    }
}
