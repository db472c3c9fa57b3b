//! The session lifecycle over each backend, against the fake runtime: create from the promoted
//! version, start, stop, restart, delete with their events and runtime seconds; the refusals
//! (unpromoted or archived template, taken name, viewers, other workspaces, no runtime); racing
//! starts with one winner; the running-session quota; a runtime that fails to boot.

use crate::contract::harness::{expect_code, Harness};
use crate::http::bundles::bundle;
use burstflare_adapters_memory::FakeStart;
use burstflare_core::blob::BytesBody;
use burstflare_core::ids::{SessionId, TemplateId};
use burstflare_core::service::{BuildRun, RUNTIME_SECONDS};
use burstflare_core::values::SessionState;
use burstflare_core::{Actor, Config, Service};
use serde_json::json;

/// An owner with a template whose version 1.0.0 is built and promoted.
pub(crate) async fn promoted(h: &Harness, email: &str, name: &str) -> anyhow::Result<(Actor, TemplateId)> {
    let owner = h.register(email).await?;
    let actor = h.actor(&owner).await?;
    let manifest = json!({ "image": "node:22", "sleepTtlSeconds": 3600, "idleTimeoutSeconds": 600 });
    let t = h.service.create_template(&actor, name, None).await?.template.id;
    let (version, build) = h.service.add_version(&actor, &t, "1.0.0", &manifest, None).await?;
    let archive = bundle(&[("a.txt", "a")], None);
    h.service.upload_bundle(&actor, &t, &version.id, "application/gzip", &mut BytesBody::new(archive)).await?;
    assert_eq!(h.service.process_build(&build.id).await?, BuildRun::Succeeded);
    h.service.promote(&actor, &t, &version.id).await?;
    Ok((actor, t))
}

async fn states(h: &Harness, actor: &Actor, id: &SessionId) -> anyhow::Result<Vec<SessionState>> {
    Ok(h.service.session_events(actor, id).await?.into_iter().map(|e| e.state).collect())
}

pub async fn a_session_runs_sleeps_restarts_and_is_deleted(h: &Harness) -> anyhow::Result<()> {
    use SessionState::*;
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let view = h.service.create_session(&actor, "  my dev box ", &t).await?;
    let id = view.session.id.clone();
    assert_eq!(
        (view.session.state, view.session.name.as_str(), view.template_name.as_str()),
        (Created, "my dev box", "node-dev")
    );
    assert_eq!((view.session.sleep_ttl_seconds, view.session.idle_timeout_seconds), (Some(3600), Some(600)));
    let running = h.service.start_session(&actor, &id).await?;
    assert_eq!(running.state, Running);
    assert!(h.runtime.is_running(&id));
    h.clock.advance_seconds(90);
    let sleeping = h.service.stop_session(&actor, &id).await?;
    assert_eq!((sleeping.state, sleeping.last_stopped_at), (Sleeping, Some(h.now())));
    assert!(!h.runtime.is_running(&id));
    let restarted = h.service.restart_session(&actor, &id).await?;
    assert_eq!(restarted.state, Running);
    h.clock.advance_seconds(30);
    let again = h.service.restart_session(&actor, &id).await?;
    assert_eq!(again.state, Running);
    h.clock.advance_seconds(15);
    let deleted = h.service.delete_session(&actor, &id).await?;
    assert_eq!(deleted.state, Deleted);
    assert_eq!(
        states(h, &actor, &id).await?,
        vec![
            Created, Starting, Running, Stopping, Sleeping, Starting, Running, Stopping, Sleeping, Starting, Running,
            Deleted
        ],
        "every transition appears once, in order"
    );
    assert_eq!(h.service.list_sessions(&actor).await?, vec![], "deleted sessions leave the list");
    let (shown, _) = h.service.show_session(&actor, &id).await?;
    assert_eq!(shown.session.state, Deleted, "and stay readable until purged");
    expect_code(h.service.start_session(&actor, &id).await, "session_deleted");
    let totals = h.ports.usage.totals(&actor.workspace_id, burstflare_core::time::Timestamp(0)).await?;
    let seconds = totals.iter().find(|(kind, _)| kind == RUNTIME_SECONDS).map(|(_, v)| *v);
    assert_eq!(seconds, Some(90 + 30 + 15), "runtime seconds, measured from running to stopped: {totals:?}");
    Ok(())
}

pub async fn sessions_are_refused_cleanly(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    expect_code(h.service.create_session(&actor, "   ", &t).await, "session_name_required");
    expect_code(h.service.create_session(&actor, &"x".repeat(65), &t).await, "invalid_session_name");
    expect_code(h.service.create_session(&actor, "a", &TemplateId::from_raw("tpl_nope")).await, "template_not_found");
    let bare = h.service.create_template(&actor, "bare", None).await?.template.id;
    expect_code(h.service.create_session(&actor, "a", &bare).await, "template_not_promoted");
    let first = h.service.create_session(&actor, "Dev", &t).await?;
    expect_code(h.service.create_session(&actor, "dev", &t).await, "session_name_taken");
    expect_code(h.service.stop_session(&actor, &first.session.id).await, "session_not_stoppable");
    expect_code(h.service.delete_template(&actor, &t).await, "template_in_use");
    h.service.delete_session(&actor, &first.session.id).await?;
    h.service.create_session(&actor, "dev", &t).await?;
    h.service.set_archived(&actor, &t, true).await?;
    expect_code(h.service.create_session(&actor, "other", &t).await, "template_archived");

    // Another workspace's session is not found, never forbidden.
    let (stranger, _) = promoted(h, "stranger@example.com", "theirs").await?;
    for result in [
        h.service.start_session(&stranger, &first.session.id).await.map(|_| ()),
        h.service.delete_session(&stranger, &first.session.id).await.map(|_| ()),
        h.service.show_session(&stranger, &first.session.id).await.map(|_| ()),
    ] {
        expect_code(result, "session_not_found");
    }
    Ok(())
}

pub async fn viewers_read_sessions_but_do_not_run_them(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&owner, "dev", &t).await?.session.id;
    let (_, viewer) = h.join(&owner, "viewer@example.com", "viewer").await?;
    assert_eq!(h.service.list_sessions(&viewer).await?.len(), 1);
    h.service.show_session(&viewer, &id).await?;
    expect_code(h.service.create_session(&viewer, "mine", &t).await, "insufficient_permissions");
    expect_code(h.service.start_session(&viewer, &id).await, "insufficient_permissions");
    expect_code(h.service.restart_session(&viewer, &id).await, "insufficient_permissions");
    expect_code(h.service.stop_session(&viewer, &id).await, "insufficient_permissions");
    expect_code(h.service.delete_session(&viewer, &id).await, "insufficient_permissions");
    assert_eq!(h.runtime.starts(), 0);
    Ok(())
}

pub async fn racing_starts_have_one_winner(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&actor, "dev", &t).await?.session.id;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (service, actor, id) = (h.service.clone(), actor.clone(), id.clone());
        tasks.push(tokio::spawn(async move { service.start_session(&actor, &id).await }));
    }
    let (mut won, mut lost) = (0, 0);
    for task in tasks {
        match task.await? {
            Ok(session) => {
                assert_eq!(session.state, SessionState::Running);
                won += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), burstflare_core::ErrorKind::Conflict, "{e:?}");
                lost += 1;
            }
        }
    }
    assert_eq!((won, lost), (1, 11));
    assert_eq!(h.runtime.starts(), 1, "the runtime was asked to boot the session once");
    let starts = states(h, &actor, &id).await?.into_iter().filter(|s| *s == SessionState::Starting).count();
    assert_eq!(starts, 1, "the history shows the start once");
    Ok(())
}

pub async fn the_running_session_quota_holds_under_races(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(h.service.create_session(&actor, &format!("s{i}"), &t).await?.session.id);
    }
    for id in &ids[..2] {
        h.service.start_session(&actor, id).await?;
    }
    // The free plan runs 3: two racing starts for the last slot, one wins.
    let racers: Vec<_> = ids[2..4]
        .iter()
        .map(|id| {
            let (service, actor, id) = (h.service.clone(), actor.clone(), id.clone());
            tokio::spawn(async move { service.start_session(&actor, &id).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await?.map(|s| s.state.as_str()).map_err(|e| e.code.as_str()));
    }
    outcomes.sort();
    assert_eq!(outcomes, vec![Ok("running"), Err("session_limit")]);
    expect_code(h.service.start_session(&actor, &ids[4]).await, "session_limit");
    // A stop frees a slot.
    h.service.stop_session(&actor, &ids[0]).await?;
    h.service.start_session(&actor, &ids[4]).await?;
    Ok(())
}

pub async fn a_runtime_that_fails_to_boot_leaves_the_session_failed(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(h.service.create_session(&actor, &format!("s{i}"), &t).await?.session.id);
    }
    h.runtime.set_start(FakeStart::Fail("image node:22 not found".into()));
    let failed = h.service.start_session(&actor, &ids[0]).await?;
    assert_eq!(failed.state, SessionState::Failed);
    assert!(failed.state_detail.as_deref().is_some_and(|d| d.contains("image node:22 not found")), "{failed:?}");
    let events = h.service.session_events(&actor, &ids[0]).await?;
    let last = events.last().expect("events");
    assert_eq!(last.state, SessionState::Failed);
    assert!(last.details["reason"].as_str().is_some_and(|r| r.contains("not found")));
    h.runtime.set_start(FakeStart::Healthy);
    for id in &ids[1..] {
        h.service.start_session(&actor, id).await?;
    }
    // The failed session freed its slot (three others run), and it can be started again later.
    expect_code(h.service.start_session(&actor, &ids[0]).await, "session_limit");
    h.service.stop_session(&actor, &ids[1]).await?;
    assert_eq!(h.service.start_session(&actor, &ids[0]).await?.state, SessionState::Running);
    Ok(())
}

pub async fn a_server_without_a_runtime_says_so(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&actor, "dev", &t).await?.session.id;
    let mut ports = h.ports.clone();
    ports.runtime = None;
    let service = Service::new(ports, Config::default());
    let refused = service.start_session(&actor, &id).await;
    let error = expect_code(refused, "runtime_unavailable");
    assert_eq!(error.kind(), burstflare_core::ErrorKind::Unavailable);
    assert_eq!(service.show_session(&actor, &id).await?.0.session.state, SessionState::Created, "nothing changed");
    Ok(())
}

pub async fn reconcile_sleeps_only_idle_sessions_and_repairs_the_rest(h: &Harness) -> anyhow::Result<()> {
    use SessionState::*;
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let mut ids = Vec::new();
    for name in ["idle", "died", "booting", "gone"] {
        ids.push(h.service.create_session(&actor, name, &t).await?.session.id);
    }
    let state = |i: usize| state_of(h, &actor, &ids[i]);
    h.service.start_session(&actor, &ids[0]).await?;
    h.service.start_session(&actor, &ids[1]).await?;
    h.runtime.set_start(FakeStart::Hang);
    let booting = h.service.begin_start(&actor, &ids[2]).await?;
    assert_eq!(booting.state, Starting);
    h.runtime.set_start(FakeStart::Healthy);
    h.service.delete_session(&actor, &ids[3]).await?;

    h.clock.advance_seconds(299);
    let sweep = h.service.reconcile().await?.sessions;
    assert_eq!((sweep.slept, sweep.failed, sweep.purged_deleted), (0, 0, 1), "{sweep:?}");
    assert_eq!((state(0).await?, state(2).await?), (Running, Starting), "not idle, not stuck yet");
    expect_code(h.service.show_session(&actor, &ids[3]).await, "session_not_found");

    h.runtime.kill(&ids[1]);
    h.clock.advance_seconds(302);
    let sweep = h.service.reconcile().await?.sessions;
    assert_eq!((sweep.slept, sweep.failed), (1, 2), "{sweep:?}");
    assert_eq!((state(0).await?, state(1).await?, state(2).await?), (Sleeping, Failed, Failed));
    let events = h.service.session_events(&actor, &ids[0]).await?;
    let stopping = events.iter().rev().find(|e| e.state == Stopping).map(|e| e.details["reason"].clone());
    assert_eq!(stopping, Some(json!("idle")), "the stop says why");
    let again = h.service.reconcile().await?.sessions;
    assert_eq!((again.slept, again.failed, again.purged_deleted), (0, 0, 0), "a second pass changes nothing");

    // A sleeping session past its sleep TTL (one hour) is purged.
    h.clock.advance_seconds(3600);
    assert_eq!(h.service.reconcile_workspace(&actor).await?.purged_stale, 1);
    expect_code(h.service.show_session(&actor, &ids[0]).await, "session_not_found");
    Ok(())
}

async fn state_of(h: &Harness, actor: &Actor, id: &SessionId) -> anyhow::Result<SessionState> {
    Ok(h.service.show_session(actor, id).await?.0.session.state)
}

pub async fn runtime_tokens_open_one_running_session_for_a_few_minutes(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&actor, "dev", &t).await?.session.id;
    let other = h.service.create_session(&actor, "other", &t).await?.session.id;
    expect_code(h.service.issue_runtime_token(&actor, &id).await, "session_not_running");
    h.service.start_session(&actor, &id).await?;
    h.service.start_session(&actor, &other).await?;
    let (secret, token) = h.service.issue_runtime_token(&actor, &id).await?;
    assert!(secret.expose().starts_with("bfrt_"));
    assert_eq!(token.session_id.as_ref(), Some(&id));
    let access = h.service.runtime_access(secret.expose(), &id).await?;
    assert_eq!((access.session.id, access.user_id), (id.clone(), actor.user.id.clone()));
    // Bound to its session and its kind: refused for another session, as an access token, and
    // an access token is no runtime token.
    expect_code(h.service.runtime_access(secret.expose(), &other).await, "unauthorized");
    expect_code(h.service.authenticate(secret.expose()).await, "unauthorized");
    let owner_access = h.register("second@example.com").await?;
    expect_code(h.service.runtime_access(owner_access.access.expose(), &id).await, "unauthorized");
    let (_, viewer) = h.join(&actor, "viewer@example.com", "viewer").await?;
    expect_code(h.service.issue_runtime_token(&viewer, &id).await, "insufficient_permissions");
    // It expires after five minutes, and a stopped session opens to no token.
    h.clock.advance_seconds(5 * 60);
    expect_code(h.service.runtime_access(secret.expose(), &id).await, "unauthorized");
    let (fresh, _) = h.service.issue_runtime_token(&actor, &id).await?;
    h.service.stop_session(&actor, &id).await?;
    expect_code(h.service.runtime_access(fresh.expose(), &id).await, "unauthorized");
    // Purging the session purges its tokens.
    h.service.delete_session(&actor, &id).await?;
    h.service.reconcile().await?;
    assert_eq!(h.ports.tokens.find_credential(&fresh.hash()).await?, None, "the token went with its session");
    Ok(())
}

pub async fn a_session_deleted_while_it_boots_leaves_nothing_running(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&actor, "dev", &t).await?.session.id;
    let starting = h.service.begin_start(&actor, &id).await?;
    h.service.delete_session(&actor, &id).await?;
    expect_code(h.service.finish_start(starting).await, "session_changed");
    assert!(!h.runtime.is_running(&id), "the runtime that booted late was stopped");
    assert_eq!(h.service.show_session(&actor, &id).await?.0.session.state, SessionState::Deleted);
    Ok(())
}

pub async fn the_admin_report_counts_the_workspace(h: &Harness) -> anyhow::Result<()> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    h.service.create_template(&actor, "spare", None).await?;
    let ids: Vec<SessionId> = {
        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            ids.push(h.service.create_session(&actor, name, &t).await?.session.id);
        }
        ids
    };
    h.service.start_session(&actor, &ids[0]).await?;
    h.service.start_session(&actor, &ids[1]).await?;
    h.service.stop_session(&actor, &ids[1]).await?;
    h.service.delete_session(&actor, &ids[2]).await?;
    let report = h.service.admin_report(&actor).await?;
    assert_eq!((report.members, report.templates, report.templates_archived, report.releases), (1, 2, 0, 1));
    assert_eq!((report.sessions_running, report.sessions_sleeping, report.sessions_total), (1, 1, 2));
    assert_eq!(report.sessions_stale_eligible, 0);
    h.clock.advance_seconds(3600);
    assert_eq!(h.service.admin_report(&actor).await?.sessions_stale_eligible, 1, "past its one-hour sleep TTL");
    let (_, member) = h.join(&actor, "member@example.com", "member").await?;
    expect_code(h.service.admin_report(&member).await, "insufficient_permissions");
    Ok(())
}
