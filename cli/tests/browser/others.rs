//! What the scenarios run beside the browser: the CLI's device login waiting in the background,
//! and a one-page site on another port (another origin of the same site).

use super::common::User;
use super::driver::WAIT;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// `burstflare auth device` waiting in the background.
pub struct DeviceLogin {
    child: Child,
    lines: Receiver<String>,
    printed: String,
}

impl DeviceLogin {
    pub fn start(user: &User) -> Self {
        let mut child = user
            .command(&["auth", "device", "--poll-interval-ms", "100"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
        Self { child, lines, printed: String::new() }
    }

    /// What the CLI printed: the page to open, the code to enter there, and the page with the
    /// code filled in.
    pub fn prompt(&mut self) -> Prompt {
        let mut next = || {
            let line = self.lines.recv_timeout(WAIT).expect("auth device prints its prompt");
            self.printed.push_str(&line);
            line
        };
        let (open, code) = loop {
            let line = next();
            if let Some((open, code)) = line.split_once(" and enter code ") {
                break (open.trim_start_matches("Open ").to_string(), code.trim().to_string());
            }
        };
        let complete = next();
        let complete = complete.trim().strip_prefix("(or open ").and_then(|l| l.strip_suffix(')'));
        Prompt { open, code, complete: complete.expect("the page with the code filled in").to_string() }
    }

    /// The exit status once the process ends (killed, by its PID, after the wait).
    pub fn finish(mut self) -> (Option<i32>, String) {
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() && started.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let status = self.child.wait().unwrap().code();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.printed.push_str(&line);
        }
        (status, self.printed)
    }
}

/// The lines `burstflare auth device` prints for the person.
pub struct Prompt {
    pub open: String,
    pub code: String,
    pub complete: String,
}

/// A one-page site on another port of 127.0.0.1, served from a thread until dropped.
pub struct OtherSite {
    pub url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl OtherSite {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let body = "<!doctype html><title>other</title><h1>another site</h1>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self { url, stop }
    }
}

impl Drop for OtherSite {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
