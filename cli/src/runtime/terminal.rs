//! `burstflare terminal`: the session's shell in this terminal, over the terminal WebSocket.
//! On a TTY the local terminal goes to raw mode (restored on exit, whatever happens) and its size
//! follows the window; piped input is sent as it is.

use super::ws::Socket;
use crate::error::{CliError, Result};
use futures_util::{SinkExt, StreamExt};
use std::io::IsTerminal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Puts the terminal in raw mode for as long as it lives.
struct RawMode;

impl RawMode {
    fn enable() -> Result<Self> {
        crossterm::terminal::enable_raw_mode().map_err(|e| CliError::new("io", format!("raw mode: {e}")))?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The `resize` control message for the current window, if there is a terminal.
fn resize_message() -> Option<Message> {
    let (cols, rows) = crossterm::terminal::size().ok()?;
    Some(Message::Text(serde_json::json!({ "type": "resize", "cols": cols, "rows": rows }).to_string().into()))
}

/// The query that opens the terminal at this window's size.
pub fn size_query() -> String {
    match crossterm::terminal::size() {
        Ok((cols, rows)) if std::io::stdout().is_terminal() => format!("?cols={cols}&rows={rows}"),
        _ => String::new(),
    }
}

/// Runs the terminal until the session's shell ends the connection.
pub async fn run(socket: Socket) -> Result<()> {
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let _raw = if tty { Some(RawMode::enable()?) } else { None };
    let (mut sink, mut stream) = socket.split();
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut resized = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        .map_err(|e| CliError::new("io", e.to_string()))?;
    let mut buffer = vec![0u8; 16 * 1024];
    let mut input_open = true;
    let lost = |e: tokio_tungstenite::tungstenite::Error| CliError::new("connection_lost", e.to_string());
    let io = |e: std::io::Error| CliError::new("io", e.to_string());
    loop {
        tokio::select! {
            read = stdin.read(&mut buffer), if input_open => {
                let n = read.map_err(io)?;
                if n == 0 {
                    input_open = false;
                } else {
                    sink.send(Message::Binary(buffer[..n].to_vec().into())).await.map_err(lost)?;
                }
            }
            _ = resized.recv(), if tty => {
                if let Some(message) = resize_message() {
                    sink.send(message).await.map_err(lost)?;
                }
            }
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    stdout.write_all(&bytes).await.map_err(io)?;
                    stdout.flush().await.map_err(io)?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(lost(e)),
            }
        }
    }
}
