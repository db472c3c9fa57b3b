//! Jobs through Cloudflare Queues: the producer side. The consumer is the Worker's `queue`
//! handler in `edge`, which acks a message only after its job succeeded and otherwise asks the
//! platform to retry it, so a job that keeps failing ends in the dead-letter queue.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{Job, JobQueue, PortResult};
use worker::send::SendFuture;
use worker::{MessageBuilder, Queue};

pub struct QueueJobs {
    queue: Queue,
}

impl QueueJobs {
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl JobQueue for QueueJobs {
    async fn enqueue(&self, job: Job, delay_seconds: u32) -> PortResult<()> {
        let queue = &self.queue;
        let mut message = MessageBuilder::new(job);
        if delay_seconds > 0 {
            message = message.delay_seconds(delay_seconds);
        }
        SendFuture::new(async move { queue.send(message.build()).await }).await.map_err(|e| {
            // Logged here: a send after a committed batch is not retried by its caller (reconcile
            // sends the jobs of builds left waiting again).
            tracing::warn!(error = %e, "could not send a job to the queue");
            PortError::Unavailable(format!("queue send: {e}"))
        })
    }

    /// Queues are not the database: jobs are sent after their batch commits.
    fn reads_store(&self) -> bool {
        false
    }
}
