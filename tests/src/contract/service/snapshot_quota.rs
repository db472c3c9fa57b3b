//! The snapshot quota a workspace's plan sets (no configured override), over each backend: the
//! stored bytes on record count against the plan's `max_snapshot_bytes`, an upload that would
//! pass it is refused with nothing stored, and a larger plan lets the same upload in.

use super::snapshots::{sha, with_session};
use crate::contract::harness::{expect_code, Harness};
use burstflare_core::blob::BytesBody;
use burstflare_core::model::{Snapshot, SnapshotContent, Workspace};
use burstflare_core::store::Write;
use burstflare_core::values::Plan;

pub async fn the_workspaces_plan_sets_its_snapshot_quota(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let ws = &session.workspace_id;
    let free = Plan::Free.limits().max_snapshot_bytes;
    assert!(Plan::Pro.limits().max_snapshot_bytes > free);

    // A snapshot on record that holds all but ten bytes of the free plan (its size as recorded,
    // so no gigabytes need storing).
    let big = h.service.create_snapshot(&actor, &session.id, Some("big")).await?;
    let content = SnapshotContent {
        key: format!("snapshots/{ws}/{}/{}/0-big.bin", session.id, big.id),
        content_type: "application/octet-stream".into(),
        bytes: free - 10,
        sha256: sha(b""),
        uploaded_at: h.now(),
    };
    let recorded = Snapshot { content: Some(content), version: big.version + 1, ..big.clone() };
    h.commit([Write::UpdateSnapshot { snapshot: recorded, expected_version: big.version }]).await?;
    assert_eq!(h.ports.snapshots.stored_bytes(ws).await?, free - 10);

    // Free: eleven more bytes do not fit (nothing stored), ten do.
    let next = h.service.create_snapshot(&actor, &session.id, None).await?;
    let mut eleven = BytesBody::new(vec![1; 11]);
    let refused = h.service.upload_snapshot(&actor, &session.id, &next.id, "", None, &mut eleven).await;
    expect_code(refused, "snapshot_quota");
    assert_eq!(h.ports.snapshots.stored_bytes(ws).await?, free - 10, "nothing counted");
    let mut ten = BytesBody::new(vec![1; 10]);
    h.service.upload_snapshot(&actor, &session.id, &next.id, "", None, &mut ten).await?;
    assert_eq!(h.ports.snapshots.stored_bytes(ws).await?, free);
    let more = h.service.create_snapshot(&actor, &session.id, None).await?;
    let mut one = BytesBody::new(vec![2; 1]);
    expect_code(h.service.upload_snapshot(&actor, &session.id, &more.id, "", None, &mut one).await, "snapshot_quota");

    // The workspace moves to Pro: the same upload fits.
    let workspace = h.ports.workspaces.get(ws).await?.expect("the workspace");
    let pro = Workspace { plan: Plan::Pro, version: workspace.version + 1, ..workspace.clone() };
    h.commit([Write::UpdateWorkspace { workspace: pro, expected_version: workspace.version }]).await?;
    let mut one = BytesBody::new(vec![2; 1]);
    h.service.upload_snapshot(&actor, &session.id, &more.id, "", None, &mut one).await?;
    assert_eq!(h.ports.snapshots.stored_bytes(ws).await?, free + 1);
    Ok(())
}
