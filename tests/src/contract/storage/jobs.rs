//! The local job queue: `ports.jobs` enqueues, the harness's `JobSource` claims. Jobs are claimed
//! by `run_at` then insertion, not before they are due, once per lease; released jobs come back
//! at their new time, completed ones are gone, and queued jobs survive reopening the store.

use crate::contract::harness::Harness;
use anyhow::Context as _;
use burstflare_core::ids::BuildId;
use burstflare_core::ports::{ClaimedJob, Job};
use burstflare_core::time::Timestamp;

fn build(n: u32) -> Job {
    Job::Build { build_id: BuildId::from_raw(format!("bld_{n}")) }
}

fn later(h: &Harness, ms: i64) -> Timestamp {
    Timestamp(h.now().millis() + ms)
}

/// Claims with a one-minute lease at `at`, returning the job only.
async fn claim_job(h: &Harness, at: Timestamp) -> anyhow::Result<Option<Job>> {
    Ok(h.jobs.claim(at, 60_000).await?.map(|c| c.job))
}

pub async fn jobs_are_claimed_by_run_at_then_insertion(h: &Harness) -> anyhow::Result<()> {
    h.ports.jobs.enqueue(build(1), 10).await?;
    h.ports.jobs.enqueue(build(2), 0).await?;
    h.ports.jobs.enqueue(Job::Reconcile { source: Some("manual".into()) }, 0).await?;
    h.ports.jobs.enqueue(build(3), 5).await?;
    let first = h.jobs.claim(h.now(), 60_000).await?.context("a due job")?;
    assert_eq!((first.job, first.attempts), (build(2), 1));
    assert_eq!(claim_job(h, h.now()).await?, Some(Job::Reconcile { source: Some("manual".into()) }));
    assert_eq!(claim_job(h, h.now()).await?, None, "the others are not due yet");
    let at = later(h, 10_000);
    assert_eq!(claim_job(h, at).await?, Some(build(3)));
    assert_eq!(claim_job(h, at).await?, Some(build(1)));
    assert_eq!(claim_job(h, at).await?, None);
    Ok(())
}

pub async fn delayed_jobs_are_not_claimed_before_their_time(h: &Harness) -> anyhow::Result<()> {
    h.clock.advance_seconds(3);
    h.ports.jobs.enqueue(build(1), 60).await?;
    assert_eq!(claim_job(h, h.now()).await?, None);
    assert_eq!(claim_job(h, later(h, 59_999)).await?, None);
    assert_eq!(claim_job(h, later(h, 60_000)).await?, Some(build(1)), "due at enqueue time + delay");
    Ok(())
}

pub async fn leased_jobs_are_not_claimed_twice_until_the_lease_ends(h: &Harness) -> anyhow::Result<()> {
    h.ports.jobs.enqueue(build(1), 0).await?;
    let now = h.now();
    let claimed = h.jobs.claim(now, 30_000).await?.context("the job")?;
    assert_eq!(h.jobs.claim(now, 30_000).await?, None);
    assert_eq!(h.jobs.claim(later(h, 29_999), 30_000).await?, None);
    let again = h.jobs.claim(later(h, 30_000), 30_000).await?.context("the job after its lease")?;
    assert_eq!(again, ClaimedJob { attempts: 2, ..claimed });

    // Racing runners: each job goes to exactly one of them.
    for n in 2..6 {
        h.ports.jobs.enqueue(build(n), 0).await?;
    }
    let at = later(h, 30_000);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let jobs = h.jobs.clone();
            tokio::spawn(async move { jobs.claim(at, 60_000).await })
        })
        .collect();
    let mut won = Vec::new();
    for racer in racers {
        won.extend(racer.await??.map(|c| c.job));
    }
    won.sort_by_key(|j| format!("{j:?}"));
    assert_eq!(won, (2..6).map(build).collect::<Vec<_>>(), "four jobs, four winners, no job twice");
    Ok(())
}

pub async fn released_jobs_come_back_at_their_new_time_and_completed_ones_are_gone(h: &Harness) -> anyhow::Result<()> {
    h.ports.jobs.enqueue(build(1), 0).await?;
    h.ports.jobs.enqueue(build(2), 0).await?;
    let first = h.jobs.claim(h.now(), 60_000).await?.context("first")?;
    let second = h.jobs.claim(h.now(), 60_000).await?.context("second")?;
    h.jobs.release(&first.id, later(h, 5_000)).await?;
    h.jobs.complete(&second.id).await?;
    assert_eq!(h.jobs.claim(later(h, 4_999), 60_000).await?, None, "released to a later time");
    let back = h.jobs.claim(later(h, 5_000), 60_000).await?.context("released job")?;
    assert_eq!(back, ClaimedJob { attempts: 2, ..first.clone() });
    // Released before its lease ended: claimable at once at its new time.
    h.jobs.release(&back.id, h.now()).await?;
    assert_eq!(h.jobs.claim(h.now(), 60_000).await?.map(|c| c.attempts), Some(3));
    h.jobs.complete(&first.id).await?;
    assert_eq!(h.jobs.claim(later(h, 3_600_000), 60_000).await?, None, "completed jobs never come back");
    // Settling a job that is gone is not an error.
    h.jobs.complete(&first.id).await?;
    h.jobs.release(&second.id, h.now()).await?;
    assert_eq!(h.jobs.claim(later(h, 3_600_000), 60_000).await?, None);
    Ok(())
}

pub async fn queued_jobs_survive_reopening_the_store(h: &Harness) -> anyhow::Result<()> {
    h.ports.jobs.enqueue(build(1), 0).await?;
    h.ports.jobs.enqueue(build(2), 0).await?;
    h.ports.jobs.enqueue(Job::Reconcile { source: None }, 120).await?;
    let leased = h.jobs.claim(h.now(), 60_000).await?.context("leased before the restart")?;

    let (ports, jobs) = h.reopened().await?;
    let second = jobs.claim(h.now(), 60_000).await?.context("the job left free before the restart")?;
    assert_eq!(second.job, build(2));
    jobs.complete(&second.id).await?;
    assert_eq!(jobs.claim(h.now(), 60_000).await?, None, "the lease taken before survives too");
    let back = jobs.claim(later(h, 60_000), 60_000).await?.context("the leased job after its lease")?;
    assert_eq!(back, ClaimedJob { attempts: 2, ..leased });
    jobs.complete(&back.id).await?;
    assert_eq!(jobs.claim(later(h, 120_000), 60_000).await?.map(|c| c.job), Some(Job::Reconcile { source: None }));
    // The reopened store's queue feeds the same table.
    ports.jobs.enqueue(build(3), 0).await?;
    assert_eq!(h.jobs.claim(later(h, 120_000), 60_000).await?.map(|c| c.job), Some(build(3)));
    Ok(())
}
