//! What a job runner does with one queued message, on any shape: read it as a [`Job`], run it,
//! and say whether the message is done (ack) or must come back (retry). Nothing is dropped
//! silently: an unreadable message is retried like a failed one, so the platform dead-letters it
//! after the configured attempts, where it can be inspected.

use burstflare_core::ports::Job;
use burstflare_core::Service;

/// What to do with a message after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Ack,
    /// Try again later; the reason is logged.
    Retry(String),
}

/// Runs the job a message carries and logs the outcome.
pub async fn handle(service: &Service, body: &serde_json::Value) -> Disposition {
    let job = match serde_json::from_value::<Job>(body.clone()) {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(%error, %body, "unreadable job message");
            return Disposition::Retry(format!("unreadable job: {error}"));
        }
    };
    match service.run_job(&job).await {
        Ok(outcome) => {
            tracing::info!(?job, ?outcome, "job done");
            Disposition::Ack
        }
        Err(error) => {
            tracing::warn!(?job, %error, "job failed; will retry");
            Disposition::Retry(error.to_string())
        }
    }
}
