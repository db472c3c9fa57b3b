//! Connecting to a session's runtime over each backend, against the fake runtime: who may open a
//! terminal, SSH or a preview; waking a sleeping session on an explicit connect (never for a
//! viewer); activity written at most every 30 s and reported by the agent to reconcile; the pinned
//! SSH host key; preview passes.

use super::sessions::promoted;
use crate::contract::harness::{expect_code, Harness};
use burstflare_core::ids::SessionId;
use burstflare_core::service::{RuntimeCaller, RuntimeUse};
use burstflare_core::time::Timestamp;
use burstflare_core::values::SessionState;
use burstflare_core::Actor;

async fn session_of(h: &Harness, actor: &Actor, id: &SessionId) -> anyhow::Result<burstflare_core::model::Session> {
    Ok(h.service.show_session(actor, id).await?.0.session)
}

pub async fn members_connect_and_wake_sessions_viewers_only_preview(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&owner, "dev", &t).await?.session.id;
    let (_, viewer) = h.join(&owner, "viewer@example.com", "viewer").await?;
    let as_viewer = RuntimeCaller::from(&viewer);
    // A viewer never wakes a session and never gets a terminal or SSH.
    expect_code(h.service.connect_runtime(&as_viewer, &id, RuntimeUse::Preview).await, "session_not_running");
    for use_ in [RuntimeUse::Terminal, RuntimeUse::Ssh] {
        expect_code(h.service.connect_runtime(&as_viewer, &id, use_).await, "insufficient_permissions");
    }
    assert_eq!(h.runtime.starts(), 0);
    // A member's terminal wakes the never-started session and waits for it.
    let connection = h.service.connect_runtime(&RuntimeCaller::from(&owner), &id, RuntimeUse::Terminal).await?;
    assert_eq!((connection.session.state, h.runtime.starts()), (SessionState::Running, 1));
    assert_eq!(connection.endpoint.secret, "fake");
    // Now the viewer may look at the preview; a sleeping session wakes for its member's SSH.
    h.service.connect_runtime(&as_viewer, &id, RuntimeUse::Preview).await?;
    h.service.stop_session(&owner, &id).await?;
    h.service.connect_runtime(&RuntimeCaller::from(&owner), &id, RuntimeUse::Ssh).await?;
    assert_eq!(h.runtime.starts(), 2);
    let events = h.service.session_events(&owner, &id).await?;
    assert_eq!(events.iter().filter(|e| e.details["reason"] == "connect").count(), 2, "{events:?}");
    // A failed session is not restarted behind the user's back, and says why.
    h.runtime.kill(&id);
    h.service.reconcile().await?;
    let refused = h.service.connect_runtime(&RuntimeCaller::from(&owner), &id, RuntimeUse::Terminal).await;
    let refused = refused.expect_err("a failed session is refused");
    assert_eq!(refused.code.as_str(), "session_not_running");
    assert!(refused.message.contains("stopped unexpectedly"), "{}", refused.message);
    // Another workspace's session is not found.
    let (stranger, _) = promoted(h, "stranger@example.com", "theirs").await?;
    let as_stranger = RuntimeCaller::from(&stranger);
    expect_code(h.service.connect_runtime(&as_stranger, &id, RuntimeUse::Preview).await, "session_not_found");
    Ok(())
}

pub async fn activity_is_written_at_most_every_30_seconds(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&owner, "dev", &t).await?.session.id;
    h.service.start_session(&owner, &id).await?;
    let started = h.now();
    let caller = RuntimeCaller::from(&owner);
    h.clock.advance_seconds(5);
    h.service.connect_runtime(&caller, &id, RuntimeUse::Terminal).await?;
    let version = session_of(h, &owner, &id).await?.version;
    assert_eq!(session_of(h, &owner, &id).await?.last_active_at, Some(started), "the start counts as use");
    h.clock.advance_seconds(26);
    h.service.connect_runtime(&caller, &id, RuntimeUse::Preview).await?;
    let touched = session_of(h, &owner, &id).await?;
    assert_eq!(touched.last_active_at, Some(h.now()), "31 s after the last write");
    assert_eq!(touched.version, version, "activity does not change the version");
    h.clock.advance_seconds(10);
    h.service.connect_runtime(&caller, &id, RuntimeUse::Ssh).await?;
    assert_eq!(session_of(h, &owner, &id).await?.last_active_at, touched.last_active_at, "not within 30 s");
    Ok(())
}

pub async fn reconcile_counts_use_the_agent_saw(h: &Harness) -> anyhow::Result<()> {
    // The template sleeps sessions idle for 600 s.
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&owner, "dev", &t).await?.session.id;
    h.service.start_session(&owner, &id).await?;
    let started = h.now();
    h.clock.advance_seconds(500);
    h.runtime.saw_activity(&id, Timestamp(started.millis() + 450_000));
    h.clock.advance_seconds(200);
    h.service.reconcile().await?;
    let session = session_of(h, &owner, &id).await?;
    assert_eq!(session.state, SessionState::Running, "typed into 250 s ago: not idle");
    assert_eq!(session.last_active_at, Some(Timestamp(started.millis() + 450_000)));
    h.clock.advance_seconds(400);
    h.service.reconcile().await?;
    assert_eq!(session_of(h, &owner, &id).await?.state, SessionState::Sleeping, "650 s without use");
    Ok(())
}

pub async fn ssh_host_keys_are_pinned_per_session(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let a = h.service.create_session(&owner, "a", &t).await?.session.id;
    let b = h.service.create_session(&owner, "b", &t).await?.session.id;
    let key_a = h.service.ssh_info(&owner, &a).await?.host_key;
    assert!(key_a.starts_with("ssh-ed25519 AAAA"), "{key_a}");
    h.service.start_session(&owner, &a).await?;
    h.service.restart_session(&owner, &a).await?;
    assert_eq!(h.service.ssh_info(&owner, &a).await?.host_key, key_a, "the same across restarts");
    assert_ne!(h.service.ssh_info(&owner, &b).await?.host_key, key_a);
    let (_, viewer) = h.join(&owner, "viewer@example.com", "viewer").await?;
    expect_code(h.service.ssh_info(&viewer, &a).await, "insufficient_permissions");
    let (stranger, _) = promoted(h, "stranger@example.com", "theirs").await?;
    expect_code(h.service.ssh_info(&stranger, &a).await, "session_not_found");
    Ok(())
}

pub async fn preview_passes_open_one_session_for_members_and_viewers(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let a = h.service.create_session(&owner, "a", &t).await?.session.id;
    let b = h.service.create_session(&owner, "b", &t).await?.session.id;
    let (_, viewer) = h.join(&owner, "viewer@example.com", "viewer").await?;
    let (_, link, _) = h.service.issue_preview_link(&viewer, &a).await?;
    let caller = h.service.preview_caller(&link, &a).await?;
    assert_eq!(caller, RuntimeCaller::from(&viewer));
    expect_code(h.service.preview_caller(&link, &b).await, "unauthorized");
    expect_code(h.service.preview_caller(&format!("{link}0"), &a).await, "unauthorized");
    let cookie = h.service.renew_preview_pass(&caller, &a)?;
    h.clock.advance_seconds(121);
    expect_code(h.service.preview_caller(&link, &a).await, "unauthorized");
    h.service.preview_caller(&cookie, &a).await?;
    h.clock.advance_seconds(12 * 3600);
    expect_code(h.service.preview_caller(&cookie, &a).await, "unauthorized");
    let (stranger, _) = promoted(h, "stranger@example.com", "theirs").await?;
    expect_code(h.service.issue_preview_link(&stranger, &a).await, "session_not_found");
    Ok(())
}

pub async fn an_unreachable_agent_whose_runtime_died_fails_its_session_at_once(h: &Harness) -> anyhow::Result<()> {
    let (owner, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let id = h.service.create_session(&owner, "dev", &t).await?.session.id;
    let running = h.service.start_session(&owner, &id).await?;
    assert!(!h.service.check_runtime(&running).await?, "a live runtime is left alone");
    assert_eq!(session_of(h, &owner, &id).await?.state, SessionState::Running);
    h.runtime.kill(&id);
    assert!(h.service.check_runtime(&running).await?);
    let failed = session_of(h, &owner, &id).await?;
    assert_eq!(failed.state, SessionState::Failed);
    assert!(failed.state_detail.clone().unwrap_or_default().contains("stopped unexpectedly"));
    assert!(!h.service.check_runtime(&failed).await?, "once is enough");
    // A connection to a session whose runtime died says so and fails it.
    let again = h.service.restart_session(&owner, &id).await?;
    h.runtime.kill(&again.id);
    let refused = h.service.connect_runtime(&RuntimeCaller::from(&owner), &id, RuntimeUse::Terminal).await;
    let refused = refused.expect_err("its runtime died");
    assert!(refused.code.as_str() == "session_not_running" && refused.message.contains("stopped unexpectedly"));
    assert_eq!(session_of(h, &owner, &id).await?.state, SessionState::Failed);
    Ok(())
}
