//! Sessions and their events: live names unique per workspace whatever the case, references that
//! must exist, guarded updates with one winner under a race, events in append order, reads by
//! state, guarded purges that take the events along, the running-session quota counted with the
//! batch, and the cascade from a deleted template.

use crate::contract::fixtures::{self, Account};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::{SessionId, TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::{Session, Template, TemplateVersion};
use burstflare_core::store::{Batch, Counted, Write};
use burstflare_core::time::Timestamp;
use burstflare_core::values::SessionState;

/// A stored template with one version, to hang sessions on.
async fn template(h: &Harness, account: &Account, name: &str) -> anyhow::Result<(Template, TemplateVersion)> {
    let template = fixtures::template(&account.workspace.id, &account.user.id, name, h.now());
    let version = fixtures::version(&template, "1.0.0", h.now());
    h.commit([Write::CreateTemplate(template.clone()), Write::CreateVersion(version.clone())]).await?;
    Ok((template, version))
}

/// The session moved to `state` with its version on by one, and the write that stores it.
fn moved(session: &Session, state: SessionState, at: Timestamp) -> (Session, Write) {
    let mut next = session.clone();
    (next.state, next.updated_at, next.version) = (state, at, session.version + 1);
    match state {
        SessionState::Running => next.last_started_at = Some(at),
        SessionState::Sleeping => next.last_stopped_at = Some(at),
        SessionState::Failed => next.state_detail = Some("the runtime died".into()),
        _ => {}
    }
    let write = Write::UpdateSession { session: next.clone(), expected_version: session.version };
    (next, write)
}

/// A stored session of the version in `state`, created at `at`.
async fn stored(
    h: &Harness,
    version: &TemplateVersion,
    name: &str,
    state: SessionState,
    at: Timestamp,
) -> anyhow::Result<Session> {
    let session = Session { state, ..fixtures::session(version, name, at) };
    h.commit([Write::CreateSession(session.clone())]).await?;
    Ok(session)
}

pub async fn session_names_are_unique_among_live_sessions_whatever_the_case(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let (_, theirs) = template(h, &bob, "node").await?;
    let (ws, now) = (&ada.workspace.id, h.now());
    let first = fixtures::session(&version, "Dev-Box", now);
    h.commit([Write::CreateSession(first.clone())]).await?;
    assert_eq!(h.ports.sessions.get(ws, &first.id).await?, Some(first.clone()), "every field round-trips");
    assert_eq!(h.ports.sessions.get(&bob.workspace.id, &first.id).await?, None, "other workspaces do not see it");

    let entry = fixtures::audit(Some(ws), "lost", now);
    let twin = fixtures::session(&version, "dev-BOX", now);
    assert_conflict(h.commit([Write::Audit(entry), Write::CreateSession(twin.clone())]).await);
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![], "nothing of the refused batch lands");
    let (a, b) = (fixtures::session(&version, "py", now), fixtures::session(&version, "PY", now));
    assert_conflict(h.commit([Write::CreateSession(a), Write::CreateSession(b)]).await);
    assert_conflict(h.commit([Write::CreateSession(first.clone())]).await); // the same id again
    assert_eq!(h.ports.sessions.list(ws).await?, vec![first.clone()]);
    let elsewhere = fixtures::session(&theirs, "DEV-BOX", now);
    h.commit([Write::CreateSession(elsewhere.clone())]).await?;
    assert_eq!(h.ports.sessions.list(&bob.workspace.id).await?, vec![elsewhere]);

    // A deleted session frees its name; it is still read by id but no longer listed.
    let (deleted, delete) = moved(&first, SessionState::Deleted, now);
    h.commit([delete, Write::CreateSession(twin.clone())]).await?;
    assert_eq!(h.ports.sessions.list(ws).await?, vec![twin.clone()]);
    assert_eq!(h.ports.sessions.get(ws, &first.id).await?, Some(deleted.clone()));
    // Coming back to life would make two live sessions of one name.
    let (_, revive) = moved(&deleted, SessionState::Created, now);
    assert_conflict(h.commit([revive]).await);
    let again = fixtures::session(&version, "DEV-box", now);
    assert_conflict(h.commit([Write::CreateSession(again)]).await);
    Ok(())
}

pub async fn session_references_must_exist(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let (_, other) = template(h, &ada, "python").await?;
    let (ws, now) = (&ada.workspace.id, h.now());
    let ghosts: [fn(&mut Session); 5] = [
        |s| s.workspace_id = WorkspaceId::from_raw("ws_missing"),
        |s| s.template_id = TemplateId::from_raw("tpl_missing"),
        |s| s.version_id = VersionId::from_raw("tplv_missing"),
        |s| s.created_by_user_id = UserId::from_raw("usr_missing"),
        |_| {},
    ];
    for (n, ghost) in ghosts.into_iter().enumerate() {
        let mut session = fixtures::session(&version, &format!("s{n}"), now);
        ghost(&mut session);
        let result = h.commit([Write::CreateSession(session.clone())]).await;
        if n < 4 {
            assert_conflict(result);
        } else {
            result?;
        }
    }
    assert_eq!(h.ports.sessions.list(ws).await?.len(), 1);
    // A template deleted in the same batch is gone for what follows.
    let delete = Write::DeleteTemplate { template_id: other.template_id.clone(), expected_version: 1 };
    assert_conflict(h.commit([delete, Write::CreateSession(fixtures::session(&other, "late", now))]).await);

    let session = h.ports.sessions.list(ws).await?.remove(0);
    let lost = Session { id: SessionId::from_raw("ses_missing"), ..session.clone() };
    assert_conflict(
        h.commit([Write::AppendSessionEvent(fixtures::session_event(&lost, SessionState::Starting, "x", now))]).await,
    );
    let mut nowhere = fixtures::session_event(&session, SessionState::Starting, "x", now);
    nowhere.workspace_id = WorkspaceId::from_raw("ws_missing");
    assert_conflict(h.commit([Write::AppendSessionEvent(nowhere)]).await);
    let event = fixtures::session_event(&session, SessionState::Starting, "x", now);
    assert_conflict(
        h.commit([Write::AppendSessionEvent(event.clone()), Write::AppendSessionEvent(event.clone())]).await,
    );
    assert_eq!(h.ports.sessions.events(&session.id).await?, vec![]);
    // An event may follow its session in one batch.
    let fresh = fixtures::session(&version, "fresh", now);
    let first = fixtures::session_event(&fresh, SessionState::Created, "made", now);
    h.commit([Write::CreateSession(fresh.clone()), Write::AppendSessionEvent(first.clone())]).await?;
    assert_eq!(h.ports.sessions.events(&fresh.id).await?, vec![first]);
    assert_eq!(h.ports.sessions.list(&bob.workspace.id).await?, vec![]);
    Ok(())
}

pub async fn racing_session_updates_have_one_winner(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let session = stored(h, &version, "dev", SessionState::Created, h.now()).await?;
    let racers: Vec<_> = (0..12)
        .map(|n| {
            let (next, update) = moved(&session, SessionState::Starting, h.now());
            let event = fixtures::session_event(&next, SessionState::Starting, &format!("racer {n}"), h.now());
            let uow = h.ports.uow.clone();
            let batch = Batch { writes: vec![update, Write::AppendSessionEvent(event)] };
            tokio::spawn(async move { uow.commit(batch).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await?);
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "exactly one racer wins: {outcomes:?}");
    for outcome in outcomes.into_iter().filter(|o| o.is_err()) {
        assert_conflict(outcome);
    }
    let got = h.ports.sessions.get(&ada.workspace.id, &session.id).await?.context("session")?;
    assert_eq!((got.state, got.version), (SessionState::Starting, 2));
    assert_eq!(h.ports.sessions.events(&session.id).await?.len(), 1, "only the winner's event lands");

    // Every field core may change is stored as given; a stale version is refused.
    let later = h.now().plus_seconds(90);
    let (mut running, _) = moved(&got, SessionState::Running, later);
    (running.last_active_at, running.state_detail) = (Some(later.plus_seconds(1)), Some("healthy".into()));
    running.name = burstflare_core::values::SessionName::from_stored("renamed".into()); // not a mutable field
    h.commit([Write::UpdateSession { session: running.clone(), expected_version: 2 }]).await?;
    running.name = session.name.clone();
    assert_eq!(h.ports.sessions.get(&ada.workspace.id, &session.id).await?, Some(running.clone()));
    assert_conflict(h.commit([Write::UpdateSession { session: running.clone(), expected_version: 2 }]).await);
    let (mut cleared, _) = moved(&running, SessionState::Sleeping, later);
    (cleared.state_detail, cleared.last_active_at) = (None, None);
    h.commit([Write::UpdateSession { session: cleared.clone(), expected_version: running.version }]).await?;
    assert_eq!(h.ports.sessions.get(&ada.workspace.id, &session.id).await?, Some(cleared));
    Ok(())
}

pub async fn session_events_come_back_in_append_order(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let (one, two) = (fixtures::session(&version, "one", h.now()), fixtures::session(&version, "two", h.now()));
    h.commit([Write::CreateSession(one.clone()), Write::CreateSession(two.clone())]).await?;
    let (t0, t1) = (h.now(), h.now().plus_seconds(1));
    // Same instants, and an earlier timestamp appended later: the order is the append order.
    let batch1 = [
        fixtures::session_event(&one, SessionState::Created, "a", t1),
        fixtures::session_event(&two, SessionState::Created, "other", t0),
        fixtures::session_event(&one, SessionState::Starting, "b", t1),
    ];
    let batch2 = [
        fixtures::session_event(&one, SessionState::Running, "c", t0),
        fixtures::session_event(&one, SessionState::Stopping, "d", t1),
    ];
    h.commit(batch1.clone().map(Write::AppendSessionEvent)).await?;
    h.commit(batch2.clone().map(Write::AppendSessionEvent)).await?;
    let expected = vec![batch1[0].clone(), batch1[2].clone(), batch2[0].clone(), batch2[1].clone()];
    assert_eq!(h.ports.sessions.events(&one.id).await?, expected, "every field round-trips, in order");
    assert_eq!(h.ports.sessions.events(&two.id).await?, vec![batch1[1].clone()]);
    assert_eq!(h.ports.sessions.events(&SessionId::from_raw("ses_missing")).await?, vec![]);
    Ok(())
}

pub async fn sessions_are_read_by_state_across_workspaces_or_in_one(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (_, mine) = template(h, &ada, "node").await?;
    let (_, theirs) = template(h, &bob, "node").await?;
    let (t0, t1, t2) = (h.now(), h.now().plus_seconds(1), h.now().plus_seconds(2));
    let late = stored(h, &mine, "late", SessionState::Running, t2).await?;
    let bobs = stored(h, &theirs, "bobs", SessionState::Running, t1).await?;
    let early = stored(h, &mine, "early", SessionState::Sleeping, t0).await?;
    let tie = stored(h, &mine, "tie", SessionState::Running, t1).await?;
    stored(h, &mine, "new", SessionState::Created, t0).await?;
    let gone = stored(h, &mine, "gone", SessionState::Deleted, t0).await?;
    let ws = &ada.workspace.id;
    let running = [SessionState::Running, SessionState::Sleeping];

    let all = h.ports.sessions.in_states(None, &running).await?;
    assert_eq!(all, vec![early.clone(), bobs.clone(), tie.clone(), late.clone()], "oldest first, then insertion");
    assert_eq!(h.ports.sessions.in_states(Some(ws), &running).await?, vec![early.clone(), tie.clone(), late.clone()]);
    assert_eq!(h.ports.sessions.in_states(Some(&bob.workspace.id), &[SessionState::Running]).await?, vec![bobs]);
    assert_eq!(h.ports.sessions.in_states(Some(ws), &[SessionState::Deleted]).await?, vec![gone]);
    assert_eq!(h.ports.sessions.in_states(None, &[]).await?, vec![]);
    assert_eq!(h.ports.sessions.in_states(Some(ws), &[SessionState::Failed]).await?, vec![]);
    let every = h.ports.sessions.in_states(Some(ws), SessionState::ALL).await?;
    assert_eq!(every.len(), 5);
    assert_eq!(h.ports.sessions.list(ws).await?.len(), 4, "lists leave the deleted one out");
    Ok(())
}

pub async fn purging_a_session_takes_its_events_and_is_guarded(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let (ws, now) = (&ada.workspace.id, h.now());
    let doomed = stored(h, &version, "doomed", SessionState::Deleted, now).await?;
    let kept = stored(h, &version, "kept", SessionState::Sleeping, now).await?;
    let events = [&doomed, &kept, &doomed].map(|s| fixtures::session_event(s, SessionState::Created, "e", now));
    h.commit(events.clone().map(Write::AppendSessionEvent)).await?;
    let purge = |expected_version| Write::PurgeSession { session_id: doomed.id.clone(), expected_version };

    assert_conflict(h.commit([purge(2)]).await);
    let entry = fixtures::audit(Some(ws), "lost", now);
    assert_conflict(h.commit([Write::Audit(entry), purge(1), purge(1)]).await);
    let late = fixtures::session_event(&doomed, SessionState::Deleted, "late", now);
    assert_conflict(h.commit([purge(1), Write::AppendSessionEvent(late)]).await);
    assert_eq!(h.ports.sessions.events(&doomed.id).await?.len(), 2, "a refused purge leaves everything");
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![]);

    h.commit([purge(1)]).await?;
    assert_eq!(h.ports.sessions.get(ws, &doomed.id).await?, None);
    assert_eq!(h.ports.sessions.events(&doomed.id).await?, vec![]);
    assert_eq!(h.ports.sessions.events(&kept.id).await?, vec![events[1].clone()], "other sessions keep theirs");
    assert_eq!(h.ports.sessions.in_states(Some(ws), SessionState::ALL).await?, vec![kept.clone()]);
    assert_conflict(h.commit([purge(1)]).await);
    // A live session is purged the same way (reconcile's sleep TTL), with what the batch wrote before.
    let event = fixtures::session_event(&kept, SessionState::Sleeping, "again", now);
    let (_, touch) = moved(&kept, SessionState::Sleeping, now);
    let purge_kept = Write::PurgeSession { session_id: kept.id.clone(), expected_version: 2 };
    h.commit([Write::AppendSessionEvent(event), touch, purge_kept]).await?;
    assert_eq!(h.ports.sessions.list(ws).await?, vec![]);
    assert_eq!(h.ports.sessions.events(&kept.id).await?, vec![]);
    Ok(())
}

pub async fn active_session_quotas_count_slots_with_the_batch(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (_, version) = template(h, &ada, "node").await?;
    let (_, theirs) = template(h, &bob, "node").await?;
    let quota = |max| Write::AtMost { counted: Counted::ActiveSessions(ada.workspace.id.clone()), max };
    let now = h.now();
    let running = stored(h, &version, "running", SessionState::Running, now).await?;
    stored(h, &version, "stopping", SessionState::Stopping, now).await?;
    for (n, state) in [SessionState::Created, SessionState::Sleeping, SessionState::Failed, SessionState::Deleted]
        .into_iter()
        .enumerate()
    {
        stored(h, &version, &format!("idle{n}"), state, now).await?;
    }
    stored(h, &theirs, "bobs", SessionState::Running, now).await?;
    h.commit([quota(2)]).await?;
    assert_conflict(h.commit([quota(1)]).await);

    // A start is checked with the writes before it: a third slot is refused and nothing lands.
    let idle = h.ports.sessions.list(&ada.workspace.id).await?;
    let created = idle.iter().find(|s| s.state == SessionState::Created).context("created")?.clone();
    let (_, start) = moved(&created, SessionState::Starting, now);
    assert_conflict(h.commit([start.clone(), quota(2)]).await);
    assert_eq!(h.ports.sessions.get(&ada.workspace.id, &created.id).await?, Some(created.clone()));
    let born = Session { state: SessionState::Starting, ..fixtures::session(&version, "born", now) };
    assert_conflict(h.commit([Write::CreateSession(born.clone()), quota(2)]).await);
    // Stopping another in the same batch frees its slot; a quota before the writes counts the old rows.
    let (_, sleep) = moved(&running, SessionState::Sleeping, now);
    assert_conflict(h.commit([quota(1), sleep.clone(), start.clone()]).await);
    h.commit([sleep, start, quota(2)]).await?;
    let starting = h.ports.sessions.in_states(Some(&ada.workspace.id), &[SessionState::Starting]).await?;
    assert_eq!(starting.iter().map(|s| &s.id).collect::<Vec<_>>(), vec![&created.id]);
    // Another workspace's sessions do not count.
    h.commit([Write::AtMost { counted: Counted::ActiveSessions(bob.workspace.id.clone()), max: 1 }]).await?;
    Ok(())
}

pub async fn deleting_a_template_takes_its_sessions_and_their_events(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (gone, old) = template(h, &ada, "node").await?;
    let (_, kept_version) = template(h, &ada, "python").await?;
    let (ws, now) = (&ada.workspace.id, h.now());
    let dead = stored(h, &old, "dead", SessionState::Deleted, now).await?;
    let kept = stored(h, &kept_version, "kept", SessionState::Running, now).await?;
    let events = [&dead, &kept].map(|s| fixtures::session_event(s, SessionState::Created, "e", now));
    h.commit(events.clone().map(Write::AppendSessionEvent)).await?;
    let delete = || Write::DeleteTemplate { template_id: gone.id.clone(), expected_version: 1 };

    // Nothing may hang off a template deleted earlier in the batch.
    let late = fixtures::session(&old, "late", now);
    assert_conflict(h.commit([delete(), Write::CreateSession(late.clone())]).await);
    let (_, touch) = moved(&dead, SessionState::Deleted, now);
    assert_conflict(h.commit([delete(), touch]).await);
    let event = fixtures::session_event(&dead, SessionState::Deleted, "late", now);
    assert_conflict(h.commit([delete(), Write::AppendSessionEvent(event)]).await);
    assert_eq!(h.ports.sessions.get(ws, &dead.id).await?, Some(dead.clone()), "a refused delete leaves it");

    // Sessions created earlier in the batch go with the template too.
    let early = fixtures::session(&old, "early", now);
    let early_event = fixtures::session_event(&early, SessionState::Created, "e", now);
    h.commit([Write::CreateSession(early.clone()), Write::AppendSessionEvent(early_event), delete()]).await?;
    for session in [&dead, &early] {
        assert_eq!(h.ports.sessions.get(ws, &session.id).await?, None);
        assert_eq!(h.ports.sessions.events(&session.id).await?, vec![]);
    }
    assert_eq!(h.ports.sessions.in_states(None, SessionState::ALL).await?, vec![kept.clone()]);
    assert_eq!(h.ports.sessions.events(&kept.id).await?, vec![events[1].clone()], "other templates' are untouched");
    Ok(())
}
