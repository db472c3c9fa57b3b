//! A save's deadline, over each backend: a save whose archive stalls fails once the deadline
//! passes on a clock with a timer (here one the test drives), and one whose archive drips forever
//! fails at the deadline on a clock without a timer (checked between chunks); either way the stop
//! goes on, the runtime is torn down, the session says why, and the previous latest stays.

use super::persist::{latest, persisting};
use super::persist_faults::{gated_with_a_save, Gated, SaveMode};
use crate::contract::harness::{expect_code, Harness};
use burstflare_core::ports::Clock;
use burstflare_core::time::Timestamp;
use burstflare_core::values::SessionState;
use burstflare_core::{Config, Service};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A clock with a timer the test drives: time moves only when told, and a pause ends once it
/// moved far enough.
struct DrivenClock {
    now_ms: AtomicI64,
    moved: Notify,
}

impl DrivenClock {
    fn advance_seconds(&self, seconds: i64) {
        self.now_ms.fetch_add(seconds * 1000, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Clock for DrivenClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now_ms.load(Ordering::SeqCst))
    }
    fn pause(&self, millis: u64) -> Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let until = self.now().millis().saturating_add(i64::try_from(millis).unwrap_or(i64::MAX));
        Box::pin(async move {
            loop {
                let moved = self.moved.notified();
                if self.now().millis() >= until {
                    return;
                }
                moved.await;
            }
        })
    }
}

pub async fn a_stalled_save_fails_at_its_deadline_and_the_stop_goes_on(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = persisting(h).await?;
    let id = session.id.clone();
    let gated = Gated::new(h);
    let clock = Arc::new(DrivenClock { now_ms: AtomicI64::new(h.now().millis()), moved: Notify::new() });
    let mut ports = h.ports.clone();
    ports.runtime = Some(gated.clone());
    ports.clock = clock.clone();
    let service = Arc::new(Service::new(ports, Config { save_timeout_seconds: 60, ..Config::default() }));
    service.start_session(&actor, &id).await?;
    h.runtime.write_files(&id, b"good");
    service.save_snapshot(&actor, &id, None).await?;

    h.runtime.write_files(&id, b"unsaved");
    gated.set(SaveMode::Stall);
    let stop = tokio::spawn({
        let (service, actor, id) = (service.clone(), actor.clone(), id.clone());
        async move { service.stop_session(&actor, &id).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    clock.advance_seconds(59);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stop.is_finished(), "the stop waits for the save until its deadline");
    assert!(h.runtime.is_running(&id));

    clock.advance_seconds(1);
    let slept = tokio::time::timeout(Duration::from_secs(10), stop).await???;
    assert_eq!(slept.state, SessionState::Sleeping);
    let detail = slept.state_detail.unwrap_or_default();
    assert!(detail.contains("the save took longer than 60 seconds"), "{detail}");
    assert!(!h.runtime.is_running(&id), "torn down after the save failed");
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"good".to_vec()));
    Ok(())
}

pub async fn a_save_that_never_ends_fails_at_its_deadline_on_a_clock_without_a_timer(
    h: &Harness,
) -> anyhow::Result<()> {
    let (actor, session, gated, service) = gated_with_a_save(h, b"good").await?;
    let id = &session.id;
    gated.set(SaveMode::Drip);
    let started = h.now();
    let refused = expect_code(service.save_snapshot(&actor, id, None).await, "save_failed");
    assert!(refused.message.contains("took longer than 600 seconds"), "{refused:?}");
    let took = h.now().millis() - started.millis();
    assert!((600_000..=610_000).contains(&took), "stopped at the deadline: {took} ms");
    let slept = service.stop_session(&actor, id).await?;
    assert_eq!(slept.state, SessionState::Sleeping);
    assert!(slept.state_detail.unwrap_or_default().contains("took longer than 600 seconds"));
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"good".to_vec()));
    Ok(())
}
