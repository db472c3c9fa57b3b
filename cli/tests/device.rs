//! `burstflare auth device` end to end: a second terminal starts a device sign-in, the signed-in
//! user approves (or denies) its code with `burstflare auth approve`, and the waiting process
//! finishes signed in (or fails clearly).

mod common;

use common::{TestServer, User};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// `auth device` running in the background, its stdout streamed line by line.
struct Waiting {
    child: Child,
    lines: Receiver<String>,
    printed: String,
}

impl Waiting {
    fn start(user: &User) -> Self {
        let mut child = user
            .command(&["auth", "device", "--poll-interval-ms", "50"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines, printed: String::new() }
    }

    /// Reads stdout until the line with the user code; returns the code.
    fn user_code(&mut self) -> String {
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
                let _ = self.child.kill();
                panic!("auth device showed no code; printed so far:\n{}", self.printed)
            });
            self.printed.push_str(&line);
            self.printed.push('\n');
            if let Some((_, code)) = line.split_once(" and enter code ") {
                return code.trim().to_string();
            }
        }
    }

    /// Waits (bounded) for the process to end; returns its exit code, all of stdout, and stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("auth device did not finish; printed:\n{}", self.printed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = self.child.wait_with_output().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.printed.push_str(&line);
            self.printed.push('\n');
        }
        (output.status.code(), self.printed, String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn device_sign_in_completes_after_approval() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let laptop = User::new(&server, "ada@example.com");

    let mut waiting = Waiting::start(&laptop);
    let code = waiting.user_code();
    assert!(waiting.printed.starts_with(&format!("Open {}/", server.url())), "absolute URL: {}", waiting.printed);
    assert!(!waiting.printed.contains("bfd_"), "the secret device code is never shown");

    let approved = ada.ok(&["auth", "approve", &code]);
    assert!(approved.starts_with(&format!("Approved {code}")), "{approved}");
    let (status, stdout, stderr) = waiting.finish();
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("Signed in as Ada <ada@example.com>"), "{stdout}");

    let me = laptop.json(&["auth", "whoami"]);
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["workspace"]["id"], ada.config_field("workspaceId"));
    assert_eq!(laptop.config()["url"], server.url());
    // Each terminal has its own sign-in: the laptop's tokens differ from the first terminal's.
    assert_ne!(laptop.config_field("token"), ada.config_field("token"));
    // A code works once.
    assert!(ada.fails(&["auth", "approve", &code]).starts_with("error: "));
}

#[test]
fn a_denied_device_sign_in_fails_clearly() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let stranger = User::new(&server, "mallory@example.com");

    let mut waiting = Waiting::start(&stranger);
    let code = waiting.user_code();
    let denied = ada.ok(&["auth", "approve", &code.to_lowercase(), "--deny"]);
    assert!(denied.starts_with("Denied sign-in request"), "{denied}");
    let (status, stdout, stderr) = waiting.finish();
    assert_eq!(status, Some(1), "{stdout}{stderr}");
    assert_eq!(stderr, "error: the sign-in request was denied (access_denied)\n");
    assert!(!stranger.config_path().exists() || stranger.config()["token"].is_null());
}

#[test]
fn approving_an_unknown_code_fails() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let stderr = ada.fails(&["auth", "approve", "BCDF-GHJK"]);
    assert!(stderr.starts_with("error: ") && stderr.contains("(device_code_not_found)"), "{stderr}");
}
