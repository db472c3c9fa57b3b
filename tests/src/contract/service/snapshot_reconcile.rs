//! What reconcile does to snapshots: the snapshots of purged sessions go (records with the
//! session, objects after), records whose content never arrived go once no grant can still bring
//! it, objects that no record names go once they are old enough to not be an upload in flight;
//! a second pass finds nothing, and the snapshot writes keep their guards.

use super::snapshots::with_session;
use crate::contract::harness::{assert_conflict, Harness};
use burstflare_core::blob::BytesBody;
use burstflare_core::ids::SnapshotId;
use burstflare_core::service::ORPHAN_GRACE_SECONDS;
use burstflare_core::store::Write;

pub async fn reconcile_purges_snapshots_of_purged_sessions_and_orphans(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let (t, ws) = (session.template_id.clone(), session.workspace_id.clone());
    let doomed = h.service.create_snapshot(&actor, &session.id, None).await?;
    let doomed = h.service.upload_snapshot(&actor, &session.id, &doomed.id, "", None, &mut BytesBody::new("a")).await?;
    h.service.create_snapshot(&actor, &session.id, Some("never uploaded")).await?;
    let other = h.service.create_session(&actor, "other", &t).await?.session;
    let pending = h.service.create_snapshot(&actor, &other.id, Some("pending")).await?;
    let granted = h.service.create_snapshot(&actor, &other.id, Some("granted")).await?;
    let live = h.service.create_snapshot(&actor, &other.id, Some("live")).await?;
    let live = h.service.upload_snapshot(&actor, &other.id, &live.id, "", None, &mut BytesBody::new("b")).await?;
    let old = h.now().plus_seconds(-ORPHAN_GRACE_SECONDS - 60).millis();
    let orphan = format!("snapshots/{ws}/{}/snap_gone/{old}-abc.bin", other.id);
    let young = format!("snapshots/{ws}/{}/snap_gone/{}-def.bin", other.id, h.now().millis());
    for key in [&orphan, &young] {
        h.blobs.put(key, "application/zstd", &mut BytesBody::new("orphan"), 100).await?;
    }
    h.service.delete_session(&actor, &session.id).await?;
    h.clock.advance_seconds(h.service.config().upload_grant_ttl_seconds + 1);
    // A grant opened just now keeps its snapshot until it expires.
    h.service.create_snapshot_grant(&actor, &other.id, &granted.id, "text/plain", 3).await?;

    let report = h.service.reconcile().await?;
    assert_eq!(report.sessions.purged_deleted, 1);
    // The purged session's two, the pending record, the old orphan object.
    assert_eq!(report.sessions.purged_snapshots, 4, "{report:?}");
    let doomed_key = doomed.content.map(|c| c.key).expect("uploaded");
    assert!(h.blobs.get(&doomed_key).await?.is_none(), "the purged session's object is gone");
    assert!(h.blobs.get(&orphan).await?.is_none(), "the old orphan is gone");
    assert!(h.blobs.get(&young).await?.is_some(), "a young object may be an upload in flight");
    let left: Vec<SnapshotId> = h.ports.snapshots.list(&other.id).await?.into_iter().map(|s| s.id).collect();
    assert_eq!(left, vec![granted.id.clone(), live.id.clone()]);
    assert!(!left.contains(&pending.id));
    let live_key = live.content.map(|c| c.key).expect("uploaded");
    assert!(h.blobs.get(&live_key).await?.is_some());
    assert_eq!(h.service.latest_snapshot(&other).await?.map(|s| s.id), Some(live.id.clone()));

    let again = h.service.reconcile().await?;
    assert_eq!(again.sessions.purged_snapshots, 0, "a second pass finds nothing: {again:?}");
    Ok(())
}

pub async fn snapshot_writes_keep_their_guards(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let empty = h.service.create_snapshot(&actor, &session.id, None).await?;
    let mark = |snapshot_id: &SnapshotId| Write::MarkLatestSnapshot {
        session_id: session.id.clone(),
        snapshot_id: snapshot_id.clone(),
    };
    assert_conflict(h.commit([mark(&empty.id)]).await);
    assert_conflict(h.commit([mark(&SnapshotId::from_raw("snap_unknown"))]).await);
    let full = h.service.create_snapshot(&actor, &session.id, None).await?;
    let full = h.service.upload_snapshot(&actor, &session.id, &full.id, "", None, &mut BytesBody::new("x")).await?;
    // A stale version is refused, and the whole batch with it.
    let stale = Write::DeleteSnapshot { snapshot_id: full.id.clone(), expected_version: full.version - 1 };
    assert_conflict(
        h.commit([
            Write::ReplaceLatestSnapshot { session_id: session.id.clone(), from: full.id.clone(), to: None },
            stale,
        ])
        .await,
    );
    assert_eq!(h.ports.snapshots.latest(&session.id).await?.map(|s| s.id), Some(full.id.clone()));
    // Replacing a pointer that moved elsewhere does nothing, and never conflicts.
    h.commit([Write::ReplaceLatestSnapshot { session_id: session.id.clone(), from: empty.id.clone(), to: None }])
        .await?;
    assert_eq!(h.ports.snapshots.latest(&session.id).await?.map(|s| s.id), Some(full.id.clone()));
    // Creating a snapshot of a session that does not exist is refused.
    let mut orphan = full.clone();
    orphan.id = SnapshotId::from_raw("snap_orphan");
    orphan.session_id = burstflare_core::ids::SessionId::from_raw("ses_unknown");
    assert_conflict(h.commit([Write::CreateSnapshot(orphan)]).await);
    Ok(())
}
