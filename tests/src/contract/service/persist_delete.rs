//! A session deleted while its save runs, over each backend: the delete wins. Whether the
//! runtime's stop cuts the archive off or the archive still arrives whole afterwards, nothing is
//! recorded for the deleted session, no object is left behind, the stop that was saving answers
//! `session_deleted` (nothing panics), and reconcile's purge takes the session with its snapshots.

use super::persist::persisting;
use super::persist_faults::{Gated, SaveMode};
use crate::contract::harness::{expect_code, Harness};
use burstflare_core::model::Session;
use burstflare_core::{Actor, Config, Service};
use std::sync::Arc;
use std::time::Duration;

/// The objects stored under the session's snapshots.
async fn objects(h: &Harness, session: &Session) -> anyhow::Result<Vec<String>> {
    let prefix = format!("snapshots/{}/{}/", session.workspace_id, session.id);
    Ok(h.blobs.list(&prefix).await?.unwrap_or_default())
}

/// Starts a stop of `session` that waits in its save (the archive held), and returns it once the
/// save's snapshot record exists.
async fn stop_held_in_its_save(
    service: &Arc<Service>,
    actor: &Actor,
    session: &Session,
) -> anyhow::Result<tokio::task::JoinHandle<burstflare_core::Result<Session>>> {
    let before = service.list_snapshots(actor, &session.id).await?.snapshots.len();
    let stop = tokio::spawn({
        let (service, actor, id) = (service.clone(), actor.clone(), session.id.clone());
        async move { service.stop_session(&actor, &id).await }
    });
    for _ in 0..500 {
        if service.list_snapshots(actor, &session.id).await?.snapshots.len() > before {
            return Ok(stop);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("the save never began")
}

pub async fn a_session_deleted_while_its_save_runs_keeps_no_snapshot(h: &Harness) -> anyhow::Result<()> {
    let (actor, first) = persisting(h).await?;
    let second = h.service.create_session(&actor, "other", &first.template_id).await?.session;
    let gated = Gated::new(h);
    let service = Arc::new(gated.service(h, Config::default()));

    // The delete's stop of the runtime cuts the archive off.
    service.start_session(&actor, &first.id).await?;
    h.runtime.write_files(&first.id, b"unsaved");
    gated.set(SaveMode::Stall);
    let stop = stop_held_in_its_save(&service, &actor, &first).await?;
    service.delete_session(&actor, &first.id).await?;
    expect_code(tokio::time::timeout(Duration::from_secs(10), stop).await??, "session_deleted");
    assert!(objects(h, &first).await?.is_empty(), "nothing stored");
    assert_eq!(service.latest_snapshot(&first).await?, None);

    // The archive arrives whole after the delete: still nothing is recorded, and its object goes.
    service.start_session(&actor, &second.id).await?;
    h.runtime.write_files(&second.id, b"late");
    gated.set(SaveMode::InFlight);
    let stop = stop_held_in_its_save(&service, &actor, &second).await?;
    service.delete_session(&actor, &second.id).await?;
    gated.release();
    expect_code(tokio::time::timeout(Duration::from_secs(10), stop).await??, "session_deleted");
    assert!(objects(h, &second).await?.is_empty(), "the late upload's object went");
    assert_eq!(service.latest_snapshot(&second).await?, None);

    // Reconcile purges both sessions with their (empty) snapshot records.
    let sweep = service.reconcile_workspace(&actor).await?;
    assert_eq!((sweep.purged_deleted, sweep.purged_snapshots), (2, 2), "{sweep:?}");
    expect_code(service.list_snapshots(&actor, &first.id).await, "session_not_found");
    Ok(())
}
