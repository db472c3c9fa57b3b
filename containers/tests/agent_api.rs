//! The agent's HTTP routes over its unix socket: the secret on every request, health, the
//! supervised command and its log, and shutdown.

mod common;

use common::{alive, config, empty, read_pid, TestAgent, SECRET};
use http::{Method, StatusCode};
use std::os::unix::fs::PermissionsExt;

#[tokio::test]
async fn every_request_needs_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let agent = TestAgent::start(dir, config).await;
    let mode = std::fs::metadata(agent.socket()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    for path in ["/health", "/logs", "/preview/", "/terminal", "/ssh", "/nowhere"] {
        for secret in [None, Some("wrong"), Some("agent-secret-for-test"), Some("")] {
            let (status, _, body) = agent.try_request(Method::GET, path, secret, empty()).await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {secret:?}");
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["code"], "agent_unauthorized");
        }
    }
    let (status, _, _) = agent.try_request(Method::POST, "/shutdown", Some("wrong"), empty()).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, health) = agent.json(Method::GET, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "sessionId": "ses_test", "lastActivityAt": null,
            "command": {"state": "none", "restarts": 0, "error": null}, "bundle": "ready"})
    );
    let (status, body) = agent.json(Method::GET, "/nowhere").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = agent.json(Method::GET, "/preview/x").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("preview_not_configured")));
    let (status, body) = agent.json(Method::GET, "/terminal").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("websocket_required")));
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_command_runs_in_the_workspace_with_the_session_env_and_its_output_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let script = "echo \"out $GREETING in $(pwd)\"; echo err >&2; echo \"secret:${BURSTFLARE_AGENT_CONFIG:-none}\"; exec sleep 1000";
    config.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    let workspace = config.workspace.clone();
    let agent = TestAgent::start(dir, config).await;
    let log = agent.wait_for_log("secret:none").await;
    assert!(log.contains(&format!("out hello in {}", workspace.display())), "{log}");
    assert!(log.contains("[burstflare] command started (pid "), "{log}");
    assert!(!log.contains(SECRET));
    agent.wait_for_health(|h| h["command"]["state"] == "running").await;

    let log = agent.wait_for_log("err\n").await;
    let (status, tail) = agent.get("/logs?tail=12").await;
    assert_eq!((status, &tail[..]), (StatusCode::OK, &log.as_bytes()[log.len() - 12..]));
    let (status, _) = agent.get("/logs?tail=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_command_that_exits_is_restarted_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.command = Some(vec!["sh".into(), "-c".into(), "echo run; exit 3".into()]);
    let agent = TestAgent::start(dir, config).await;
    let health = agent.wait_for_health(|h| h["command"]["restarts"].as_u64() >= Some(1)).await;
    assert!(health["command"]["error"].is_null());
    let log = agent.wait_for_log("restarting in 2s").await;
    assert!(log.contains("[burstflare] command exited with status 3; restarting in 1s\n"), "{log}");
    assert!(log.matches("run\n").count() >= 2, "{log}");
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_command_that_does_not_exist_is_reported_and_the_agent_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.command = Some(vec!["nosuchcmd-burstflare".into(), "--flag".into()]);
    let agent = TestAgent::start(dir, config).await;
    let health = agent.wait_for_health(|h| !h["command"]["error"].is_null()).await;
    assert_eq!(health["command"]["error"], "command `nosuchcmd-burstflare` not found");
    assert_eq!(health["command"]["state"], "backoff");
    assert_eq!(health["status"], "ok");
    agent.wait_for_log("[burstflare] command `nosuchcmd-burstflare` not found; retrying in 1s").await;
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_the_command_and_its_process_group_and_ends_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // The command starts a child of its own in its group; both must go.
    let script = "sleep 1000 & echo $! > child.pid; echo $$ > cmd.pid; wait";
    config.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    let workspace = config.workspace.clone();
    let socket = dir.path().join("agent.sock");
    let agent = TestAgent::start(dir, config).await;
    let command = read_pid(&workspace.join("cmd.pid")).await;
    let child = read_pid(&workspace.join("child.pid")).await;
    assert!(alive(command) && alive(child));
    let started = std::time::Instant::now();
    agent.shutdown().await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the command took the whole grace period");
    assert!(!alive(command), "the command is still running");
    for _ in 0..100 {
        if !alive(child) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!alive(child), "the command's child is still running");
    assert!(!socket.exists(), "the socket file is left behind");
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_second_run_does_not_lose_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    std::fs::create_dir_all(&config.state_dir).unwrap();
    std::fs::write(config.state_dir.join("command.log"), "from before\n").unwrap();
    // A socket file left by an agent that died: bound once, nobody listening any more.
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("agent.sock")).unwrap());
    let agent = TestAgent::start(dir, config).await;
    assert_eq!(&agent.get("/logs").await.1[..], b"from before\n");
    agent.shutdown().await.unwrap();
}
