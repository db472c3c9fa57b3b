//! `GET /terminal?cols=C&rows=R`: a shell on a PTY over a WebSocket. Binary frames are the PTY's
//! bytes both ways; text frames are JSON control messages (`{"type":"resize","cols":…,"rows":…}`).
//! The shell leads its own session and process group: when the socket goes, the group is hung up
//! and killed; when the shell exits, the socket is closed with 1000, and a message or frame over
//! 1 MiB closes it with 1009.

use super::http::{error, query_param, Body};
use super::process::{group_of, signal_group, stop_group, SHUTDOWN_GRACE};
use super::websocket::{accept, not_a_websocket, open as open_socket, Socket};
use super::Agent;
use crate::shell::{resolve_shell, session_env};
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use pty_process::{Pty, Size};
use rustix::process::Signal;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;

/// Terminal sizes outside `1..=MAX_SIDE` are refused.
const MAX_SIDE: u16 = 1000;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Control {
    Resize { cols: u32, rows: u32 },
}

fn size(cols: u32, rows: u32) -> Option<Size> {
    let valid = |n: u32| (1..=u32::from(MAX_SIDE)).contains(&n);
    (valid(cols) && valid(rows)).then(|| Size::new(rows as u16, cols as u16))
}

pub(crate) fn open(agent: Arc<Agent>, mut req: Request<Incoming>) -> Response<Body> {
    let query = req.uri().query();
    let side = |name, default| query_param(query, name).map_or(Some(default), |v| v.parse::<u32>().ok());
    let Some(size) = side("cols", 80).zip(side("rows", 24)).and_then(|(c, r)| size(c, r)) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "cols and rows must be between 1 and 1000");
    };
    let Some((response, upgrade)) = accept(&mut req) else {
        return not_a_websocket();
    };
    let (pty, mut child) = match spawn_shell(&agent, size) {
        Ok(spawned) => spawned,
        Err(e) => {
            tracing::error!(error = %e, "could not start a terminal shell");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "terminal_unavailable", "could not start a shell");
        }
    };
    let task_agent = agent.clone();
    agent.tasks.spawn(async move {
        match open_socket(upgrade).await {
            Ok(socket) => session(&task_agent, socket, pty, child).await,
            Err(e) => {
                tracing::debug!(error = %e, "terminal upgrade failed");
                stop_group(&mut child, &[Signal::HUP, Signal::TERM], SHUTDOWN_GRACE).await;
            }
        }
    });
    response
}

/// An interactive (not login) shell, so the profile scripts do not replace the manifest's `PATH`.
fn spawn_shell(agent: &Agent, size: Size) -> pty_process::Result<(Pty, Child)> {
    let (pty, pts) = pty_process::open()?;
    pty.resize(size)?;
    let config = &agent.config;
    let child = pty_process::Command::new(resolve_shell(config))
        .arg("-i")
        .env_clear()
        .envs(session_env(config, &[("TERM", "xterm-256color")]))
        .current_dir(&config.workspace)
        .kill_on_drop(true)
        .spawn(pts)?;
    Ok((pty, child))
}

enum End {
    /// The shell exited (or closed its terminal).
    Shell,
    /// The client went away or broke the protocol (with the close frame to send it).
    Client(Option<CloseFrame>),
    Shutdown,
}

async fn session(agent: &Agent, socket: Socket, mut pty: Pty, mut child: Child) {
    let group = group_of(&child);
    let (mut sink, mut stream) = socket.split();
    let (mut reader, mut writer) = pty.split();
    let end = {
        let output = async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    // EIO: every process holding the terminal closed it.
                    Ok(0) | Err(_) => return End::Shell,
                    Ok(n) => {
                        if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                            return End::Client(None);
                        }
                    }
                }
            }
        };
        let input = async {
            while let Some(message) = stream.next().await {
                match message {
                    Ok(Message::Binary(bytes)) => {
                        agent.activity.touch();
                        if writer.write_all(&bytes).await.is_err() {
                            return End::Shell;
                        }
                    }
                    Ok(Message::Text(text)) => match serde_json::from_str::<Control>(&text) {
                        Ok(Control::Resize { cols, rows }) => match size(cols, rows) {
                            Some(size) => {
                                let _ = writer.resize(size);
                            }
                            None => {
                                return End::Client(Some(close(CloseCode::Policy, "cols and rows must be 1..=1000")))
                            }
                        },
                        Err(_) => {
                            let reason =
                                "unsupported control message; expected {\"type\":\"resize\",\"cols\":…,\"rows\":…}";
                            return End::Client(Some(close(CloseCode::Unsupported, reason)));
                        }
                    },
                    Err(WsError::Capacity(_)) => {
                        return End::Client(Some(close(CloseCode::Size, "messages are at most 1 MiB")))
                    }
                    Ok(Message::Close(_)) | Err(_) => return End::Client(None),
                    Ok(_) => {}
                }
            }
            End::Client(None)
        };
        tokio::select! {
            end = output => end,
            end = input => end,
            _ = child.wait() => End::Shell,
            _ = agent.stop.cancelled() => End::Shutdown,
        }
    };
    match end {
        End::Shell => {
            // Whatever the shell printed last, then the normal close.
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(Ok(n @ 1..)) = tokio::time::timeout(Duration::from_millis(100), reader.read(&mut buf)).await {
                let _ = sink.send(Message::binary(buf[..n].to_vec())).await;
            }
            let _ = sink.send(Message::Close(Some(close(CloseCode::Normal, "the shell exited")))).await;
            // The shell is gone; its jobs lose their terminal as they would on a hangup.
            if let Some(group) = group {
                signal_group(group, Signal::HUP);
            }
            let _ = child.wait().await;
        }
        End::Client(frame) => {
            if let Some(frame) = frame {
                let _ = sink.send(Message::Close(Some(frame))).await;
            }
            stop_group(&mut child, &[Signal::HUP, Signal::TERM], SHUTDOWN_GRACE).await;
        }
        End::Shutdown => {
            if let Some(group) = group {
                signal_group(group, Signal::HUP);
            }
            stop_group(&mut child, &[Signal::TERM], SHUTDOWN_GRACE).await;
            let _ = sink.send(Message::Close(Some(close(CloseCode::Away, "the session is stopping")))).await;
        }
    }
    let _ = sink.close().await;
}

fn close(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame { code, reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bounded() {
        assert!(size(80, 24).is_some() && size(1000, 1).is_some());
        assert!(size(0, 24).is_none() && size(80, 1001).is_none());
        assert!(serde_json::from_str::<Control>(r#"{"type":"resize","cols":1,"rows":2}"#).is_ok());
        assert!(serde_json::from_str::<Control>(r#"{"type":"exec","cmd":"x"}"#).is_err());
    }
}
