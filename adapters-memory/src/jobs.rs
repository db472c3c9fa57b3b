//! The local job queue in memory: a table inside [`crate::MemoryStore`]'s state, the producer side
//! ([`MemoryJobQueue`]) and the runner side ([`JobSource`] on the store), with the same claim
//! order and leases as the SQL `jobs` table.

use crate::MemoryStore;
use async_trait::async_trait;
use burstflare_core::ids::JobId;
use burstflare_core::ports::{ClaimedJob, Clock, Job, JobQueue, JobSource, PortResult, QueuedJob, Random};
use burstflare_core::time::Timestamp;
use std::sync::Arc;

#[derive(Debug, Clone)]
struct StoredJob {
    id: JobId,
    job: Job,
    run_at: Timestamp,
    lease_until: Option<Timestamp>,
    attempts: u32,
}

/// Jobs in insertion order (the tie-break between jobs due at the same time).
#[derive(Debug, Default)]
pub(crate) struct JobTable {
    rows: Vec<StoredJob>,
}

impl JobTable {
    /// Appends a job, to run from its `run_at`.
    pub(crate) fn push(&mut self, job: QueuedJob) {
        self.rows.push(StoredJob { id: job.id, job: job.job, run_at: job.run_at, lease_until: None, attempts: 0 });
    }

    /// Leases the oldest due job that is not leased, or whose lease ended, until `lease_until`.
    fn claim(&mut self, now: Timestamp, lease_until: Timestamp) -> Option<ClaimedJob> {
        let free = |j: &StoredJob| j.run_at <= now && j.lease_until.is_none_or(|until| until <= now);
        let row = self.rows.iter_mut().filter(|j| free(j)).min_by_key(|j| j.run_at)?;
        row.lease_until = Some(lease_until);
        row.attempts = row.attempts.saturating_add(1);
        Some(ClaimedJob { id: row.id.clone(), job: row.job.clone(), attempts: row.attempts })
    }
}

/// Enqueues into a [`MemoryStore`]'s job table, stamping jobs with the clock's time and a fresh id.
pub struct MemoryJobQueue {
    store: MemoryStore,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl MemoryJobQueue {
    pub fn new(store: MemoryStore, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self { store, clock, random }
    }
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn enqueue(&self, job: Job, delay_seconds: u32) -> PortResult<()> {
        let id = JobId::from_uuid(self.random.uuid());
        let now = self.clock.now();
        let run_at = now.plus_seconds(i64::from(delay_seconds));
        self.store.write(|s| {
            s.jobs.push(QueuedJob { id, job, run_at, created_at: now });
            Ok(())
        })
    }

    fn reads_store(&self) -> bool {
        true
    }
}

#[async_trait]
impl JobSource for MemoryStore {
    async fn claim(&self, now: Timestamp, lease_ms: i64) -> PortResult<Option<ClaimedJob>> {
        let lease_until = Timestamp(now.millis().saturating_add(lease_ms));
        self.write(|s| Ok(s.jobs.claim(now, lease_until)))
    }

    async fn complete(&self, id: &JobId) -> PortResult<()> {
        self.write(|s| {
            s.jobs.rows.retain(|j| &j.id != id);
            Ok(())
        })
    }

    async fn release(&self, id: &JobId, run_at: Timestamp) -> PortResult<()> {
        self.write(|s| {
            if let Some(row) = s.jobs.rows.iter_mut().find(|j| &j.id == id) {
                row.run_at = run_at;
                row.lease_until = None;
            }
            Ok(())
        })
    }
}
