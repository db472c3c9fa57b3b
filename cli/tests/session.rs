//! `burstflare session …` against a real server: a session is created from a promoted template,
//! started, stopped, restarted and deleted, with its events; refusals read clearly.

mod common;

use common::{TestServer, User};
use std::fs;

/// Ada with a template `web` whose version 1.0.0 is built and promoted.
fn ada_with_promoted_template(server: &TestServer) -> User {
    let ada = User::new(server, "ada@example.com");
    ada.register();
    ada.ok(&["template", "create", "web"]);
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("start.sh"), "#!/bin/sh\nexec sleep infinity\n").unwrap();
    let manifest = work.path().join("manifest.json");
    fs::write(&manifest, r#"{ "image": "ubuntu:24.04", "idleTimeoutSeconds": 600 }"#).unwrap();
    let args = ["template", "version", "add", "web", "--version", "1.0.0", "--manifest"];
    let bundle = work.path().to_str().unwrap().to_string();
    let mut args: Vec<&str> = args.to_vec();
    args.extend([manifest.to_str().unwrap(), "--bundle", &bundle, "--wait"]);
    ada.ok(&args);
    ada.ok(&["template", "promote", "web", "1.0.0"]);
    ada
}

#[test]
fn a_session_is_created_started_stopped_restarted_and_deleted() {
    let server = TestServer::start();
    let ada = ada_with_promoted_template(&server);
    let out = ada.ok(&["session", "create", "dev", "--template", "web"]);
    assert!(out.starts_with("Created session dev (ses_"), "{out}");
    let listed = ada.ok(&["session", "list"]);
    assert!(listed.contains("dev") && listed.contains("created") && listed.contains("web"), "{listed}");
    if !server.runs_sessions() {
        let refused = ada.fails(&["session", "start", "dev"]);
        assert!(refused.contains("runtime_unavailable"), "{refused}");
        return;
    }
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    assert_eq!(ada.json(&["session", "show", "dev"])["session"]["state"], "running");
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
    assert_eq!(ada.ok(&["session", "restart", "dev"]).trim(), "Session dev is running.");
    let events = ada.ok(&["session", "events", "dev"]);
    let states: Vec<&str> = events.lines().skip(1).filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(states, ["created", "starting", "running", "stopping", "sleeping", "starting", "running"], "{events}");
    let deleted = ada.ok(&["session", "delete", "dev"]);
    assert!(deleted.starts_with("Deleted session dev (ses_"), "{deleted}");
    assert!(!ada.ok(&["session", "list"]).contains("dev"));
}

#[test]
fn session_refusals_read_clearly() {
    let server = TestServer::start();
    let ada = ada_with_promoted_template(&server);
    ada.ok(&["session", "create", "dev", "--template", "web"]);
    let taken = ada.fails(&["session", "create", "DEV", "--template", "web"]);
    assert!(taken.contains("session_name_taken"), "{taken}");
    let unknown = ada.fails(&["session", "start", "nope"]);
    assert!(unknown.contains("no session named nope"), "{unknown}");
    ada.ok(&["template", "create", "bare"]);
    let unpromoted = ada.fails(&["session", "create", "other", "--template", "bare"]);
    assert!(unpromoted.contains("template_not_promoted"), "{unpromoted}");
    ada.ok(&["template", "archive", "web"]);
    let archived = ada.fails(&["session", "create", "other", "--template", "web"]);
    assert!(archived.contains("template_archived"), "{archived}");
}
