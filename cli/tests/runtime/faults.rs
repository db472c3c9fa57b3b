//! Faults of a running session: its agent (natively) or its container (on the Worker) killed
//! under an open terminal (the socket closes, the session fails with its reason and frees its
//! quota slot at once, and the Worker's object lets the container go), and runtime
//! tokens refused over HTTP when they belong to another session or have expired (401, the same
//! for every refusal, so a token reveals nothing about other sessions).

use super::common::{Run, TestServer, User};
use super::{ada_with_session, http, session_id};
use burstflare_edge::native::SandboxMode;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Opens the session's terminal as a WebSocket with the user's bearer token.
async fn open_terminal(
    server: &TestServer,
    user: &User,
    id: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}/runtime/sessions/{id}/terminal", server.url().trim_start_matches("http://"));
    let mut request = url.into_client_request().unwrap();
    let bearer = format!("Bearer {}", user.config_field("token"));
    request.headers_mut().insert("authorization", bearer.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("the terminal opens");
    socket
}

/// SIGKILLs the session's agent behind the server's back: the sandbox's init (the agent and
/// everything else in its PID namespace go with it), or the plain agent process.
fn kill_agent(server: &TestServer, id: &str) {
    let record = std::fs::read(server.data_dir().join("sessions").join(id).join("agent.json")).unwrap();
    let record: Value = serde_json::from_slice(&record).unwrap();
    let victim = if record["init"].is_object() { &record["init"] } else { &record["process"] };
    let pid = victim["pid"].as_i64().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-9", &pid]).status().unwrap().success());
}

/// Creates session `name` of template `web` and starts it.
fn create_and_start(user: &User, name: &str) -> Run {
    user.ok(&["session", "create", name, "--template", "web"]);
    user.run(&["session", "start", name])
}

#[test]
fn an_agent_killed_under_an_open_terminal_fails_its_session_and_frees_its_slot() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    if server.is_external() && !server.has_containers() {
        return; // It kills the session's process or container, which must run on this machine.
    }
    let ada = ada_with_session(&server);
    ada.ok(&["session", "start", "dev"]);
    let id = session_id(&ada);
    for name in ["two", "three"] {
        assert_eq!(create_and_start(&ada, name).code, Some(0));
    }
    let full = create_and_start(&ada, "four");
    assert!(full.stderr.contains("session_limit"), "the free plan runs three: {full:?}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut terminal = open_terminal(&server, &ada, &id).await;
        terminal.send(Message::binary(b"echo $((6*7))\n".to_vec())).await.unwrap();
        let mut seen = Vec::new();
        let live = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = terminal.next().await {
                seen.extend_from_slice(&message.into_data());
                if String::from_utf8_lossy(&seen).split(['\r', '\n']).any(|l| l == "42") {
                    return;
                }
            }
        });
        assert!(live.await.is_ok(), "the shell answers: {}", String::from_utf8_lossy(&seen));

        if server.has_containers() {
            server.kill_runtime(&id);
        } else {
            kill_agent(&server, &id);
        }
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match terminal.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        });
        assert!(closed.await.is_ok(), "the terminal's socket closes when its agent dies");
    });

    // Failed with its reason at once (not at the next reconcile, a minute away).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut session = ada.json(&["session", "show", "dev"]);
    while session["session"]["state"] != "failed" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        session = ada.json(&["session", "show", "dev"]);
    }
    assert_eq!(session["session"]["state"], "failed", "{session}");
    assert!(session["session"]["stateDetail"].as_str().unwrap().contains("stopped unexpectedly"), "{session}");
    let started = ada.run(&["session", "start", "four"]);
    assert_eq!(started.code, Some(0), "the freed slot takes a new session: {started:?}");
    assert_eq!(ada.json(&["session", "show", "four"])["session"]["state"], "running");
    if server.has_containers() {
        // The object noticed the container's exit itself (not its heartbeat, 5 s apart), then
        // let the container go.
        super::container_faults::noticed_on_exit(&id);
        super::container_faults::let_go(&id);
    }
}

/// The id of the user's session `name`.
fn id_of(user: &User, name: &str) -> String {
    user.json(&["session", "show", name])["session"]["id"].as_str().unwrap().to_string()
}

/// A runtime token for the session, from `POST /api/sessions/{id}/runtime-token`.
fn runtime_token(server: &TestServer, user: &User, id: &str) -> String {
    let bearer = format!("Bearer {}", user.config_field("token"));
    let path = format!("/api/sessions/{id}/runtime-token");
    let (status, head, body) =
        http(server, "POST", "127.0.0.1", &path, &[("Authorization", &bearer), ("Content-Length", "0")]);
    assert_eq!(status, 200, "{head}{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer["token"].as_str().unwrap().to_string()
}

/// The status of a WebSocket upgrade of `/runtime/sessions/{id}/{route}` with `token` in the query.
fn upgrade_with(server: &TestServer, id: &str, route: &str, token: &str) -> u16 {
    let path = format!("/runtime/sessions/{id}/{route}?token={token}");
    let headers = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    http(server, "GET", "127.0.0.1", &path, &headers).0
}

#[test]
fn a_runtime_token_opens_only_its_own_session_and_only_until_it_expires() {
    // Tokens live 3 s here (the server has no clock to move; its lifetime is configurable).
    let service = burstflare_core::Config { runtime_token_ttl_seconds: 3, ..Default::default() };
    let server = TestServer::with_local_runtime_and(SandboxMode::Plain, service);
    if server.is_external() {
        return; // The deployment's token lifetime is its own.
    }
    let ada = ada_with_session(&server);
    ada.ok(&["session", "start", "dev"]);
    assert_eq!(create_and_start(&ada, "two").code, Some(0));
    let (dev, two) = (id_of(&ada, "dev"), id_of(&ada, "two"));
    let token = runtime_token(&server, &ada, &dev);
    let minted = Instant::now();
    assert_eq!(upgrade_with(&server, &dev, "terminal", &token), 101, "its own session's terminal");
    assert_eq!(upgrade_with(&server, &two, "terminal", &token), 401, "another session's terminal");
    assert_eq!(upgrade_with(&server, &two, "ssh", &token), 401, "another session's SSH");
    assert!(minted.elapsed() < Duration::from_secs(2), "the checks ran before the token expired");

    std::thread::sleep(Duration::from_secs(4).saturating_sub(minted.elapsed()));
    assert_eq!(upgrade_with(&server, &dev, "terminal", &token), 401, "an expired token");
    assert_eq!(upgrade_with(&server, &dev, "ssh", &token), 401, "an expired token");
    let fresh = runtime_token(&server, &ada, &dev);
    assert_eq!(upgrade_with(&server, &dev, "ssh", &fresh), 101, "a fresh one opens it again");
}
