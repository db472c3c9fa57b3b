//! Faults of a running session, natively: its agent killed under an open terminal (the socket
//! closes, the session fails with its reason and frees its quota slot at once), and runtime
//! tokens refused over HTTP when they belong to another session or have expired.

use super::common::{Run, TestServer, User};
use super::{ada_with_session, session_id};
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
    if server.is_external() {
        return; // It kills a local process; the Worker's heartbeat has its own test.
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

        kill_agent(&server, &id);
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
}
