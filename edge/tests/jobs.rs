//! The job runner's decisions, as the Worker's queue consumer applies them: a job that ran is
//! acked; an unreadable message or a failed job is retried (and so dead-lettered in the end).

use async_trait::async_trait;
use burstflare_adapters_memory::{MemoryBlobStore, MemoryStore};
use burstflare_adapters_system::system_ports;
use burstflare_core::error::PortError;
use burstflare_core::ports::{Housekeeping, PortResult, Ports, Purged};
use burstflare_core::time::Timestamp;
use burstflare_core::{Config, Service};
use burstflare_edge::jobs::{handle, Disposition};
use serde_json::json;
use std::sync::Arc;

/// Ports over a fresh memory store, composed as the native server composes them.
fn ports() -> Ports {
    let (store, system) = (MemoryStore::new(), system_ports());
    let jobs = Arc::new(store.job_queue(system.clock.clone(), system.random.clone()));
    Ports::new(store.storage(), Arc::new(MemoryBlobStore::new()), jobs, system)
}

fn service() -> Service {
    Service::new(ports(), Config::default())
}

/// Fault injection: storage that is down.
struct Down;

#[async_trait]
impl Housekeeping for Down {
    async fn purge_expired(&self, _now: Timestamp) -> PortResult<Purged> {
        Err(PortError::Unavailable("database unreachable".into()))
    }
}

#[tokio::test]
async fn a_reconcile_job_that_runs_is_acked() {
    let service = service();
    assert_eq!(
        handle(&service, &json!({ "type": "reconcile", "source": "cron */15 * * * *" })).await,
        Disposition::Ack
    );
    assert_eq!(handle(&service, &json!({ "type": "reconcile" })).await, Disposition::Ack);
}

#[tokio::test]
async fn unreadable_messages_are_retried_not_dropped() {
    let service = service();
    for body in [json!({ "type": "launch-missiles" }), json!("reconcile"), json!(null), json!({ "source": 1 })] {
        assert!(matches!(handle(&service, &body).await, Disposition::Retry(_)), "{body}");
    }
}

#[tokio::test]
async fn a_failing_job_is_retried() {
    let mut ports = ports();
    ports.housekeeping = Arc::new(Down);
    let service = Service::new(ports, Config::default());
    match handle(&service, &json!({ "type": "reconcile" })).await {
        Disposition::Retry(reason) => assert!(reason.contains("unavailable") || reason.contains("Storage"), "{reason}"),
        Disposition::Ack => panic!("a failed job must not be acked"),
    }
}
