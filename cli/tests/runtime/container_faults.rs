//! Broken session images on the Worker, in real local containers: `scripts/test-worker` runs the
//! Worker with the session image's test-only entrypoint (`containers/dev-faults/`), where a
//! template's command makes the container exit at once or never listen on the agent's port.
//! Either way the start fails with its reason, visible in the API and the CLI, the session's
//! quota slot is free again, and the session's Durable Object lets the container go: it arms no
//! heartbeat, so nothing keeps the object, or the container, alive or starts it again.
//!
//! Natively the same faults are the sandbox or the agent process ending before the agent
//! answers, which the local runtime's own tests drive (`adapters-local-runtime`).

use super::common::{session_containers, TestServer, User};
use burstflare_edge::native::SandboxMode;
use std::time::{Duration, Instant};

/// The Durable Object's heartbeat (`container_driver::HEARTBEAT`).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Ada with template `name` whose command is the fault entrypoint's `fault`, promoted, and a
/// session of it named `name`; returns the session's id.
fn session_of_a_broken_image(ada: &User, name: &str, fault: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("burstflare.json");
    let text = format!(
        r#"{{ "image": "burstflare-session", "command": ["burstflare-fault", "{fault}"], "previewPort": 8000 }}"#
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(work.path().join("index.html"), "never served").unwrap();
    ada.ok(&["template", "create", name]);
    let (manifest, bundle) = (manifest.to_str().unwrap(), work.path().to_str().unwrap());
    ada.ok(&[
        "template",
        "version",
        "add",
        name,
        "--version",
        "1.0.0",
        "--manifest",
        manifest,
        "--bundle",
        bundle,
        "--wait",
    ]);
    ada.ok(&["template", "promote", name, "1.0.0"]);
    ada.ok(&["session", "create", name, "--template", name]);
    ada.json(&["session", "show", name])["session"]["id"].as_str().unwrap().to_string()
}

/// Starts session `name`, which must fail with `reason`: the CLI says so, and the API shows the
/// session `failed` with the reason in its state and its last event.
fn start_fails_with(ada: &User, name: &str, reason: &str) {
    let started = ada.run(&["session", "start", name]);
    assert_eq!(started.code, Some(1), "{started:?}");
    assert!(started.stderr.contains(reason) && started.stderr.contains("session_failed"), "{started:?}");
    let shown = ada.json(&["session", "show", name]);
    assert_eq!(shown["session"]["state"], "failed", "{shown}");
    assert!(shown["session"]["stateDetail"].as_str().unwrap().contains(reason), "{shown}");
    let last = shown["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "failed", "{shown}");
    assert!(last["details"]["reason"].as_str().unwrap().contains(reason), "{shown}");
}

/// The Worker's log (`BURSTFLARE_TEST_WORKER_LOG`, which `scripts/test-worker` sets).
fn worker_log() -> String {
    let log = std::env::var("BURSTFLARE_TEST_WORKER_LOG").expect("scripts/test-worker names the Worker's log");
    std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("the Worker's log {log}: {e}"))
}

/// The lines of the Worker's log where the session's object reported its stopped container.
fn reports(session: &str) -> Vec<String> {
    let log = worker_log();
    let lines = log.lines().filter(|l| l.contains("container stopped by itself") && l.contains(session));
    lines.map(str::to_string).collect()
}

/// The session's object noticed its container's exit when it happened (its watch on the
/// container), not at its next heartbeat.
pub fn noticed_on_exit(session: &str) {
    let reports = reports(session);
    assert!(reports.iter().any(|l| l.contains(r#""noticed":"exit""#)), "{reports:?}");
}

/// The object of a session whose container failed lets it go: within a minute none of the
/// session's containers is left (an object with no heartbeat armed is evicted, its container
/// with it; under `wrangler dev` about 10 s after its last request), none is started again over
/// three heartbeats, and the stopped container was reported at most once
/// (the Worker's log, `BURSTFLARE_TEST_WORKER_LOG`).
pub fn let_go(session: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = session_containers(session, true);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "session {session}'s containers are still there after a minute: {left:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(3 * HEARTBEAT);
    let again = session_containers(session, true);
    assert!(again.is_empty(), "a container of failed session {session} came back: {again:?}");
    let reports = reports(session);
    assert!(reports.len() <= 1, "session {session}'s stopped container was reported again and again: {reports:?}");
}

/// On the Worker with local containers only (its session image has the fault entrypoint): a
/// registered user with a session `name` of a broken image, and the session's id.
fn broken_session(email: &str, name: &str, fault: &str) -> Option<(TestServer, User, String)> {
    let server = TestServer::with_local_runtime(SandboxMode::Plain);
    if !server.has_containers() {
        return None;
    }
    let user = User::new(&server, email);
    user.register();
    let id = session_of_a_broken_image(&user, name, fault);
    Some((server, user, id))
}

#[test]
fn a_container_that_exits_at_once_fails_its_start_with_the_reason_and_is_let_go() {
    let Some((_server, ada, id)) = broken_session("ada@example.com", "exits", "exit-at-once") else { return };
    let begun = Instant::now();
    start_fails_with(&ada, "exits", "the container exited before its agent answered");
    assert!(begun.elapsed() < Duration::from_secs(25), "noticed before the start's deadline: {:?}", begun.elapsed());
    let_go(&id);
}

#[test]
fn a_container_that_never_listens_fails_its_start_at_the_deadline_and_is_let_go() {
    let Some((_server, grace, id)) = broken_session("grace@example.com", "silent", "never-listen") else { return };
    start_fails_with(&grace, "silent", "did not become healthy in 30 s");
    // The failed start destroyed the container at once (it was running, just never listening).
    assert!(session_containers(&id, false).is_empty(), "the silent container still runs");
    let_go(&id);
}
