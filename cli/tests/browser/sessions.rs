//! Steps on a running session beyond the first run: the terminal following the window's size,
//! and the session page's log, restart and events.

use super::driver::{Browser, WAIT};
use std::time::{Duration, Instant};

/// The terminal's size as the shell sees it (`stty size`: rows, columns), read from a line the
/// command prints with a fresh `mark` (so an older answer or the typed command never matches).
async fn stty_size(b: &Browser, mark: &str) -> (u32, u32) {
    b.find(".xterm-helper-textarea").await.send_keys(&format!("echo {mark} $(stty size)\n")).await.unwrap();
    let text = b
        .wait_text(".xterm-rows", "stty's answer", |t| t.lines().any(|l| l.trim().starts_with(&format!("{mark} "))))
        .await;
    let line = text.lines().map(str::trim).find(|l| l.starts_with(&format!("{mark} "))).unwrap();
    let numbers: Vec<u32> = line.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect();
    (numbers[0], numbers[1])
}

/// The rows xterm.js shows.
async fn shown_rows(b: &Browser) -> u32 {
    let rows = b.js("return document.querySelector('.xterm-rows').children.length;").await;
    rows.as_u64().unwrap() as u32
}

/// On the terminal page: a smaller window gives the shell fewer rows and columns, the rows the
/// page shows.
pub async fn terminal_follows_the_window(b: &Browser) {
    let (rows, cols) = stty_size(b, "size-0").await;
    assert_eq!(rows, shown_rows(b).await, "the shell starts with the page's size");
    b.client.set_window_size(800, 600).await.unwrap();
    let started = Instant::now();
    for n in 1.. {
        let (new_rows, new_cols) = stty_size(b, &format!("size-{n}")).await;
        if new_rows < rows && new_cols < cols && new_rows == shown_rows(b).await {
            break;
        }
        assert!(started.elapsed() < WAIT, "the shell stays {new_rows}x{new_cols} (was {rows}x{cols})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.screenshot("terminal-resized").await;
    b.client.set_window_size(1280, 900).await.unwrap();
}

/// On the running session's page: the command's log (the preview's request is in it), then
/// Restart, which brings the session back to running and adds its events.
pub async fn session_log_restart_and_events(b: &Browser, url: &str, id: &str) {
    b.goto(&format!("{url}/sessions/{id}")).await;
    b.button("main", "Show the command's log").await.click().await.unwrap();
    b.wait_text("main pre.log", "the preview's request", |t| t.contains("GET /")).await;
    assert!(!b.find("ol.events").await.text().await.unwrap().contains("restart"));
    b.button("main .actions", "Restart").await.click().await.unwrap();
    b.wait_text("ol.events", "the restart's events", |t| t.contains("restart")).await;
    b.wait_text("main h1 + p", "running again", |t| t.starts_with("running")).await;
    b.button("main .actions", "Stop").await;
    b.screenshot("session-restarted").await;
}
