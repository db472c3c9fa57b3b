//! The local job queue: the `jobs` table, the producer side ([`SqlJobQueue`], a [`JobQueue`]) and
//! the runner side ([`JobSource`] on [`SqlRepos`]). A claim is one `UPDATE … RETURNING` that picks
//! the oldest due, unleased job and leases it, so two runners never hold the same job at once, and
//! queued work survives a restart because it is only a row.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, to_u32};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ids::JobId;
use burstflare_core::ports::{ClaimedJob, Clock, Job, JobQueue, JobSource, PortResult, QueuedJob, Random};
use burstflare_core::time::Timestamp;
use std::sync::Arc;

const INSERT: &str = "INSERT INTO jobs (id, payload, run_at, lease_until, attempts, created_at) \
     VALUES (?1, ?2, ?3, NULL, 0, ?4)";

/// `?1` now, `?2` the lease's end. Due: `run_at <= now`; free: no lease, or a lease that ended.
/// Oldest `run_at` first, then insertion order.
const CLAIM: &str = "UPDATE jobs SET lease_until = ?2, attempts = attempts + 1 WHERE id = \
     (SELECT id FROM jobs WHERE run_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1) \
     ORDER BY run_at, rowid LIMIT 1) \
     RETURNING id, payload, attempts";

const COMPLETE: &str = "DELETE FROM jobs WHERE id = ?1";

const RELEASE: &str = "UPDATE jobs SET run_at = ?1, lease_until = NULL WHERE id = ?2";

/// The statement that queues `job` (alone, or inside a batch as its outbox row).
pub(crate) fn insert(job: &QueuedJob) -> PortResult<Stmt> {
    let payload =
        serde_json::to_string(&job.job).map_err(|e| PortError::Other(format!("a job does not serialise: {e}")))?;
    let params =
        vec![job.id.as_str().into(), payload.into(), job.run_at.millis().into(), job.created_at.millis().into()];
    Ok(Stmt::new(INSERT, params))
}

/// Enqueues into the `jobs` table, stamping jobs with the clock's time and a fresh id.
pub struct SqlJobQueue<E> {
    exec: Arc<E>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl<E: SqlExecutor> SqlJobQueue<E> {
    pub fn new(exec: Arc<E>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self { exec, clock, random }
    }
}

#[async_trait]
impl<E: SqlExecutor> JobQueue for SqlJobQueue<E> {
    #[tracing::instrument(level = "debug", skip_all, fields(delay_seconds = delay_seconds), err)]
    async fn enqueue(&self, job: Job, delay_seconds: u32) -> PortResult<()> {
        let now = self.clock.now();
        let id = JobId::from_uuid(self.random.uuid());
        let run_at = now.plus_seconds(i64::from(delay_seconds));
        self.exec.write(insert(&QueuedJob { id, job, run_at, created_at: now })?).await.map(drop)
    }

    fn reads_store(&self) -> bool {
        true
    }
}

#[async_trait]
impl<E: SqlExecutor> JobSource for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn claim(&self, now: Timestamp, lease_ms: i64) -> PortResult<Option<ClaimedJob>> {
        let params = vec![now.millis().into(), now.millis().saturating_add(lease_ms).into()];
        let Some(mut row) = first(self.exec.write(Stmt::new(CLAIM, params)).await?) else {
            return Ok(None);
        };
        let id = JobId::from_raw(row.text()?);
        // The job stays leased: a payload no runner can read comes back after the lease, and
        // stays visible in the table until someone removes it.
        let job = serde_json::from_str(&row.text()?)
            .map_err(|e| PortError::Other(format!("job {id} has an unreadable payload: {e}")))?;
        Ok(Some(ClaimedJob { id, job, attempts: to_u32(row.int()?)? }))
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn complete(&self, id: &JobId) -> PortResult<()> {
        self.exec.write(Stmt::new(COMPLETE, vec![id.as_str().into()])).await.map(drop)
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn release(&self, id: &JobId, run_at: Timestamp) -> PortResult<()> {
        self.exec.write(Stmt::new(RELEASE, vec![run_at.millis().into(), id.as_str().into()])).await.map(drop)
    }
}
