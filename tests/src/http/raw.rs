//! Requests written by hand on a TCP connection, for what an HTTP client will not send: a body
//! shorter than its announced length, or a body the server stops reading partway.

use crate::http::Api;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How a hand-written request ends after its body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client closes its write side: the body is cut off.
    Close,
    /// The client waits for the answer with the connection open, as a client still sending
    /// would. A server that answers early then finds every byte sent read (no reset loses the
    /// answer) when the body ends just past what it accepts.
    Wait,
}

/// A `PUT` whose head announces `announced` bytes while `body` is what is actually written
/// (from a task, so a server that answers before reading it all does not stall the test), then
/// ends as `end` says. Returns the answer's status line, or `""` when the server closed the
/// connection without answering.
pub async fn put(
    api: &Api,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    announced: usize,
    body: Vec<u8>,
    end: End,
) -> String {
    let authority = api.base.split("://").nth(1).unwrap_or(&api.base).to_string();
    let tcp = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    let (mut reader, mut writer) = tcp.into_split();
    let authorization = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {authority}\r\n{authorization}content-type: {content_type}\r\n\
         content-length: {announced}\r\nx-forwarded-for: {}\r\nconnection: close\r\n\r\n",
        api.ip
    );
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(64 * 1024) {
            writer.write_all(piece).await?;
        }
        match end {
            End::Close => writer.shutdown().await,
            End::Wait => std::future::pending().await,
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
    sending.abort();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
}
