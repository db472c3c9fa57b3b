//! The terminal WebSocket (a real shell on a real PTY) and the SSH route's byte stream (with an
//! echo handler standing in for the SSH server).

mod common;

use common::{alive, config, TestAgent};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<UnixStream>;

async fn start() -> TestAgent {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    TestAgent::start(dir, config).await
}

/// Reads terminal output until it contains `needle` (10 s at most); returns all of it.
async fn read_until(ws: &mut Ws, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {seen:?}"))
            .expect("the socket ended")
            .unwrap();
        if let Message::Binary(bytes) = message {
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    seen
}

async fn type_line(ws: &mut Ws, line: &str) {
    ws.send(Message::binary(format!("{line}\n").into_bytes())).await.unwrap();
}

/// `pid:<digits>:` in the output (the echoed command line has `$$` there instead).
fn find_pid(out: &str) -> Option<i32> {
    out.match_indices("pid:").find_map(|(i, _)| {
        let rest = &out[i + 4..];
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        (digits > 0 && rest[digits..].starts_with(':')).then(|| rest[..digits].parse().ok())?
    })
}

/// Asks the shell for its pid.
async fn shell_pid(ws: &mut Ws) -> i32 {
    type_line(ws, "echo pid:$$:").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    loop {
        if let Some(pid) = find_pid(&seen) {
            return pid;
        }
        let message = tokio::time::timeout_at(deadline, ws.next()).await.expect("no pid").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&message.into_data()));
    }
}

async fn expect_close(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("no close frame") {
            Some(Ok(Message::Close(Some(frame)))) => return (frame.code, frame.reason.to_string()),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn wait_gone(pid: i32) {
    for _ in 0..250 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("process {pid} is still running");
}

#[tokio::test]
async fn a_shell_answers_resizes_and_ends_with_a_normal_close() {
    let agent = start().await;
    let mut ws = agent.websocket("/terminal?cols=90&rows=30").await;
    type_line(&mut ws, "echo $((6*7))").await;
    read_until(&mut ws, "42").await;
    assert!(agent.json(http::Method::GET, "/health").await.1["lastActivityAt"].as_i64().is_some());

    type_line(&mut ws, "echo size=$(stty size)= home=$HOME= term=$TERM= g=$GREETING=").await;
    let home = agent.config.workspace.display().to_string();
    read_until(&mut ws, &format!("size=30 90= home={home}= term=xterm-256color= g=hello=")).await;
    ws.send(Message::text(r#"{"type":"resize","cols":120,"rows":40}"#)).await.unwrap();
    type_line(&mut ws, "echo size=$(stty size)=").await;
    read_until(&mut ws, "size=40 120=").await;

    let pid = shell_pid(&mut ws).await;
    type_line(&mut ws, "exit").await;
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Normal);
    wait_gone(pid).await;
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_garbage_control_message_closes_the_terminal_and_kills_the_shell() {
    let agent = start().await;
    let mut ws = agent.websocket("/terminal").await;
    let pid = shell_pid(&mut ws).await;
    ws.send(Message::text("rm -rf /")).await.unwrap();
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, CloseCode::Unsupported);
    assert!(reason.contains("resize"), "{reason}");
    wait_gone(pid).await;

    let mut ws = agent.websocket("/terminal").await;
    let pid = shell_pid(&mut ws).await;
    ws.send(Message::text(r#"{"type":"resize","cols":0,"rows":5000}"#)).await.unwrap();
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Policy);
    wait_gone(pid).await;

    let (status, body) = agent.json(http::Method::GET, "/terminal?cols=5000").await;
    assert_eq!((status, body["code"].as_str()), (http::StatusCode::BAD_REQUEST, Some("bad_request")));
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn closing_the_socket_kills_the_shell_and_shutdown_closes_open_terminals() {
    let agent = start().await;
    let mut ws = agent.websocket("/terminal").await;
    let pid = shell_pid(&mut ws).await;
    drop(ws);
    wait_gone(pid).await;

    let mut ws = agent.websocket("/terminal").await;
    let pid = shell_pid(&mut ws).await;
    let started = std::time::Instant::now();
    agent.shutdown().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the shell took the whole grace period");
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Away);
    wait_gone(pid).await;
}

#[tokio::test]
async fn the_ssh_route_carries_bytes_both_ways_and_counts_as_activity() {
    let agent = start().await;
    let mut ws = agent.websocket("/ssh").await;
    ws.send(Message::binary(b"SSH-2.0-test\r\n".to_vec())).await.unwrap();
    let mut echoed = Vec::new();
    while echoed.len() < 14 {
        echoed.extend_from_slice(&ws.next().await.unwrap().unwrap().into_data());
    }
    assert_eq!(echoed, b"SSH-2.0-test\r\n");
    assert!(agent.json(http::Method::GET, "/health").await.1["lastActivityAt"].as_i64().is_some());
    ws.close(None).await.unwrap();
    agent.shutdown().await.unwrap();
}

/// Sends one binary frame of 1 MiB + 1 (over the agent's cap) and waits for the socket to end:
/// the close code it got, if any (`None`: the connection just ended).
async fn send_oversized(ws: Ws) -> Option<CloseCode> {
    let (mut sink, mut stream) = ws.split();
    // The agent stops reading after the frame's header, so the rest may never be written.
    let sending = tokio::spawn(async move {
        let _ = sink.send(Message::binary(vec![b'x'; 1024 * 1024 + 1])).await;
        sink
    });
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return None,
            }
        }
    });
    let code = ended.await.expect("the agent closes a connection that sends a huge frame");
    sending.abort();
    code
}

#[tokio::test]
async fn a_frame_over_the_cap_closes_its_connection_and_the_agent_serves_on() {
    let agent = start().await;
    let mut ws = agent.websocket("/terminal").await;
    let pid = shell_pid(&mut ws).await;
    assert_eq!(send_oversized(ws).await, Some(CloseCode::Size), "the terminal says why");
    wait_gone(pid).await;

    // The SSH route's byte stream ends too (an SSH client sees its connection drop).
    let ws = agent.websocket("/ssh").await;
    send_oversized(ws).await;

    // Other connections, open before and after, are served as ever.
    let mut ws = agent.websocket("/terminal").await;
    type_line(&mut ws, "echo $((6*7))").await;
    read_until(&mut ws, "42").await;
    let mut ssh = agent.websocket("/ssh").await;
    ssh.send(Message::binary(vec![7u8; 1024 * 1024])).await.unwrap();
    let mut echoed = 0;
    while echoed < 1024 * 1024 {
        echoed += ssh.next().await.unwrap().unwrap().into_data().len();
    }
    ssh.close(None).await.unwrap();
    type_line(&mut ws, "exit").await;
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Normal);
    agent.shutdown().await.unwrap();
}
