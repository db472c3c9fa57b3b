//! The unit of work: guarded writes, all-or-nothing batches, writes that see earlier writes of
//! their batch, racing commits with exactly one winner, and empty batches.

use crate::contract::fixtures::{self, membership};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::store::{Batch, Write};
use burstflare_core::values::{Plan, Role};

/// Moves the workspace to `plan` (an update stores only the plan and the row version).
fn set_plan(workspace: &WorkspaceId, plan: Plan, expected_version: i64) -> Write {
    let owner = burstflare_core::ids::UserId::from_raw("usr_unused");
    let mut row = fixtures::workspace(&owner, "unused", burstflare_core::time::Timestamp(0));
    (row.id, row.plan, row.version) = (workspace.clone(), plan, expected_version + 1);
    Write::UpdateWorkspace { workspace: row, expected_version }
}

pub async fn a_stale_guard_rejects_the_whole_batch(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let ws = &ada.workspace.id;
    h.commit([set_plan(ws, Plan::Pro, 1)]).await?;
    let current = h.ports.workspaces.get(ws).await?.context("workspace")?;
    assert_eq!((current.plan, current.version), (Plan::Pro, 2), "a guarded write moves the version on");

    // Valid inserts first, the stale guard last: none of them may land.
    let bob = fixtures::user("bob@example.com", h.now());
    let bob_ws = fixtures::workspace(&bob.id, "bob", h.now());
    let batch = [
        Write::CreateUser { user: bob.clone(), password_hash: "h".into() },
        Write::CreateWorkspace(bob_ws.clone()),
        Write::CreateMembership(membership(&bob_ws.id, &bob.id, Role::Owner, h.now())),
        Write::Audit(fixtures::audit(Some(ws), "lost", h.now())),
        set_plan(ws, Plan::Enterprise, 1),
    ];
    assert_conflict(h.commit(batch).await);
    assert_eq!(h.ports.users.get(&bob.id).await?, None);
    assert_eq!(h.ports.users.find_by_email("bob@example.com").await?, None);
    assert_eq!(h.ports.workspaces.get(&bob_ws.id).await?, None);
    assert_eq!(h.ports.workspaces.list_for_user(&bob.id).await?, vec![]);
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![]);
    assert_eq!(h.ports.workspaces.get(ws).await?, Some(current.clone()));

    // The stale guard first, a valid write after it: still nothing.
    let entry = fixtures::audit(Some(ws), "also lost", h.now());
    assert_conflict(h.commit([set_plan(ws, Plan::Free, 1), Write::Audit(entry)]).await);
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![]);

    // A guard on a row that does not exist fails like a stale one.
    let entry = fixtures::audit(Some(ws), "lost too", h.now());
    assert_conflict(
        h.commit([Write::Audit(entry), set_plan(&WorkspaceId::from_raw("ws_missing"), Plan::Pro, 1)]).await,
    );
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![]);
    assert_eq!(h.ports.workspaces.get(ws).await?, Some(current));
    Ok(())
}

pub async fn member_roles_are_guarded(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let ws = &ada.workspace.id;
    h.commit([Write::CreateMembership(membership(ws, &bob.user.id, Role::Member, h.now()))]).await?;
    let created = membership(ws, &bob.user.id, Role::Member, h.now());
    let set_role = |role, expected_version| Write::UpdateMembership {
        membership: burstflare_core::model::Membership { role, version: expected_version + 1, ..created.clone() },
        expected_version,
    };
    h.commit([set_role(Role::Admin, 1)]).await?;
    let got = h.ports.memberships.get(ws, &bob.user.id).await?.context("membership")?;
    assert_eq!((got.role, got.version), (Role::Admin, 2));
    assert_conflict(h.commit([set_role(Role::Viewer, 1)]).await);
    let got = h.ports.memberships.get(ws, &bob.user.id).await?.context("membership")?;
    assert_eq!((got.role, got.version), (Role::Admin, 2));
    // The membership keeps its place and its creation time.
    let listed = h.ports.memberships.list(ws).await?;
    assert_eq!(listed.iter().map(|m| m.membership.clone()).collect::<Vec<_>>()[1], got);
    Ok(())
}

pub async fn guards_see_earlier_writes_of_their_batch(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let ws = &ada.workspace.id;
    h.commit([set_plan(ws, Plan::Pro, 1), set_plan(ws, Plan::Enterprise, 2)]).await?;
    let got = h.ports.workspaces.get(ws).await?.context("workspace")?;
    assert_eq!((got.plan, got.version), (Plan::Enterprise, 3));

    // Two writes guarded by the same version: the second finds the row changed.
    assert_conflict(h.commit([set_plan(ws, Plan::Free, 3), set_plan(ws, Plan::Pro, 3)]).await);
    assert_eq!(h.ports.workspaces.get(ws).await?, Some(got));

    // A guarded write on a row created earlier in the same batch.
    let bob = fixtures::user("bob@example.com", h.now());
    let bob_ws = fixtures::workspace(&bob.id, "bob", h.now());
    h.commit([
        Write::CreateUser { user: bob.clone(), password_hash: "h".into() },
        Write::CreateWorkspace(bob_ws.clone()),
        set_plan(&bob_ws.id, Plan::Pro, 1),
    ])
    .await?;
    let got = h.ports.workspaces.get(&bob_ws.id).await?.context("bob's workspace")?;
    assert_eq!((got.plan, got.version), (Plan::Pro, 2));
    Ok(())
}

pub async fn racing_guarded_writes_have_one_winner(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let plans = [Plan::Pro, Plan::Enterprise, Plan::Pro, Plan::Enterprise, Plan::Pro, Plan::Enterprise];
    let racers = plans.iter().enumerate().map(|(n, plan)| {
        let uow = h.ports.uow.clone();
        let mut batch = Batch::new();
        batch.push(set_plan(&ada.workspace.id, *plan, 1)).push(Write::Audit(fixtures::audit(
            Some(&ada.workspace.id),
            &format!("racer {n}"),
            h.now(),
        )));
        tokio::spawn(async move { uow.commit(batch).await })
    });
    let mut outcomes = Vec::new();
    for racer in racers.collect::<Vec<_>>() {
        outcomes.push(racer.await?);
    }
    let winners = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(winners, 1, "exactly one racer wins: {outcomes:?}");
    for outcome in outcomes.into_iter().filter(|o| o.is_err()) {
        assert_conflict(outcome);
    }
    let got = h.ports.workspaces.get(&ada.workspace.id).await?.context("workspace")?;
    assert_eq!(got.version, 2);
    assert_eq!(h.ports.audit.list(&ada.workspace.id, 10).await?.len(), 1, "only the winner's audit entry lands");
    Ok(())
}

pub async fn an_empty_batch_commits(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    h.ports.uow.commit(Batch::new()).await?;
    h.commit([]).await?;
    assert_eq!(h.ports.workspaces.get(&ada.workspace.id).await?, Some(ada.workspace.clone()));
    assert_eq!(h.ports.audit.list(&ada.workspace.id, 10).await?, vec![]);
    Ok(())
}

/// Many batches at once (on SQLite they commit in groups, each batch in its own savepoint):
/// those with a stale guard fail alone, every other lands whole.
pub async fn a_failing_guard_among_concurrent_batches_fails_alone(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let ws = ada.workspace.id.clone();
    let racers = (0..48).map(|n| {
        let uow = h.ports.uow.clone();
        let mut batch = Batch::new();
        batch.push(Write::Audit(fixtures::audit(Some(&ws), &format!("batch {n}"), h.now())));
        if n % 4 == 3 {
            // Version 7 never exists: this batch's guard fails, after its audit entry was written.
            batch.push(set_plan(&ws, Plan::Pro, 7));
        }
        batch.push(Write::Audit(fixtures::audit(Some(&ws), &format!("batch {n} again"), h.now())));
        tokio::spawn(async move { (n, uow.commit(batch).await) })
    });
    let mut landed = Vec::new();
    for racer in racers.collect::<Vec<_>>() {
        let (n, outcome) = racer.await?;
        if n % 4 == 3 {
            assert_conflict(outcome);
        } else {
            outcome.with_context(|| format!("batch {n}"))?;
            landed.extend([format!("batch {n}"), format!("batch {n} again")]);
        }
    }
    let mut actions: Vec<String> = h.ports.audit.list(&ws, 200).await?.into_iter().map(|e| e.action).collect();
    actions.sort();
    landed.sort();
    assert_eq!(actions, landed, "exactly the good batches' entries, both of each");
    assert_eq!(h.ports.workspaces.get(&ws).await?.context("workspace")?.version, 1, "no guard passed");
    Ok(())
}
