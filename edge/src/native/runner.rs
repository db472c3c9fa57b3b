//! The native job runner: claims due jobs from the local jobs table (SQLite, or memory for
//! `--ephemeral`), runs them through the same dispatcher as the Worker's queue consumer, and
//! completes them, or gives them back with a backoff. Jobs are leased, so a job whose runner died
//! (a killed server) is claimed again once its lease ends.

use crate::jobs::{handle, Disposition};
use burstflare_core::ports::{Clock, JobSource};
use burstflare_core::Service;
use serde_json::to_value;
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed job is reserved for its runner.
const LEASE_MS: i64 = 60_000;
/// A job that fails this many times is given up on (logged with its body) rather than retried
/// forever; builds have their own, shorter retry budget inside the job.
const MAX_JOB_ATTEMPTS: u32 = 10;
/// How long to wait between polls when no job is due.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// Runs jobs until the task is aborted.
pub async fn run(service: Service, source: Arc<dyn JobSource>, clock: Arc<dyn Clock>) {
    loop {
        let claimed = match source.claim(clock.now(), LEASE_MS).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim a job");
                tokio::time::sleep(IDLE_POLL * 5).await;
                continue;
            }
        };
        let Some(claimed) = claimed else {
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        };
        let body = to_value(&claimed.job).unwrap_or_default();
        let settled = match handle(&service, &body).await {
            Disposition::Ack => source.complete(&claimed.id).await,
            Disposition::Retry(reason) if claimed.attempts >= MAX_JOB_ATTEMPTS => {
                tracing::error!(job = %claimed.id, %body, %reason, "job dead-lettered after its retries");
                source.complete(&claimed.id).await
            }
            Disposition::Retry(_) => {
                let backoff_s = 5i64.saturating_mul(1 << claimed.attempts.min(8));
                source.release(&claimed.id, clock.now().plus_seconds(backoff_s)).await
            }
        };
        if let Err(error) = settled {
            tracing::warn!(%error, job = %claimed.id, "could not settle a job; its lease will expire");
        }
    }
}
