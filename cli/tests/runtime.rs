//! Sessions that really run: the native server with its local runtime (the session agent in a
//! bubblewrap sandbox, or as a plain process), driven by the real `burstflare` binary and the
//! real OpenSSH client. A template whose bundle serves HTTP is promoted and started; its preview
//! answers on its own origin and on the API's (sandboxed); a terminal computes `$((6*7))`; `ssh`
//! runs commands with their exit status, `scp` copies both ways and `ssh -L` forwards; a stopped
//! session wakes on `ssh`; a server restart finds its sessions as they are; viewers, outsiders,
//! forged runtime tokens and other sites' pages are refused.
//!
//! The same scenarios run against the Worker under `wrangler dev` with real containers
//! (`scripts/test-worker` sets `BURSTFLARE_TEST_URL` and `BURSTFLARE_TEST_RUNTIME=containers`),
//! except the native server's restart. Where the shapes differ the tests say so: a container's
//! disk does not outlive a stop (only persisted paths do), the container itself is the sandbox,
//! and previews are served on the API's origin (this deployment has no preview hosts).

mod common;
#[path = "runtime/container_faults.rs"]
mod container_faults;
#[path = "runtime/faults.rs"]
mod faults;

use burstflare_edge::native::SandboxMode;
use common::{TestServer, User};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The app every test session runs: Python's HTTP server on the preview port (natively, where
/// the host's `/usr` is the session's), or BusyBox's in the session image of local containers.
const MANIFEST: &str = r#"{ "image": "debian:12", "command": ["python3", "-m", "http.server", "8000"],
  "previewPort": 8000, "idleTimeoutSeconds": 600 }"#;
const CONTAINER_MANIFEST: &str = r#"{ "image": "burstflare-session",
  "command": ["httpd", "-f", "-p", "8000", "-h", "/workspace"], "previewPort": 8000, "idleTimeoutSeconds": 600 }"#;
const PAGE: &str = "<h1>hello from the session</h1>";

/// Ada with a session `dev` of template `web` (not started).
fn ada_with_session(server: &TestServer) -> User {
    let ada = User::new(server, "ada@example.com");
    ada.register();
    ada.ok(&["template", "create", "web"]);
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("burstflare.json");
    std::fs::write(&manifest, if server.has_containers() { CONTAINER_MANIFEST } else { MANIFEST }).unwrap();
    std::fs::write(work.path().join("index.html"), PAGE).unwrap();
    let bundle = work.path().to_str().unwrap();
    let args = ["template", "version", "add", "web", "--version", "1.0.0", "--manifest"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend([manifest.to_str().unwrap(), "--bundle", bundle, "--wait"]);
    ada.ok(&args);
    ada.ok(&["template", "promote", "web", "1.0.0"]);
    ada.ok(&["session", "create", "dev", "--template", "web"]);
    ada
}

/// A raw HTTP/1.1 exchange with the server (any `Host`), returning status, headers and body.
fn http(server: &TestServer, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let addr = server.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("the server listens");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // To the end (the server closes), except after a 101: the upgraded connection stays open.
    let mut response = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n @ 1..) = stream.read(&mut buffer) {
        response.extend_from_slice(&buffer[..n]);
        if response.starts_with(b"HTTP/1.1 101") && response.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let head = head.to_ascii_lowercase();
    let body = if head.contains("transfer-encoding: chunked") { unchunk(body) } else { body.to_string() };
    (status, head, body)
}

/// The payload of a chunked body (`size CRLF data CRLF`…, ending with a zero-size chunk).
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].strip_prefix("\r\n").unwrap_or(&after[size..]);
    }
    out
}

fn session_id(user: &User) -> String {
    user.json(&["session", "show", "dev"])["session"]["id"].as_str().unwrap().to_string()
}

/// Runs `burstflare ssh dev -- ARGS` and returns its exit code and output.
fn ssh(user: &User, args: &[&str]) -> common::Run {
    let mut all = vec!["ssh", "dev", "--"];
    all.extend(args);
    user.run(&all)
}

fn preview_checks(server: &TestServer, ada: &User, id: &str) {
    if server.is_external() {
        let link = ada.json(&["preview", "dev"])["url"].as_str().unwrap().to_string();
        assert_eq!(link, format!("/runtime/sessions/{id}/preview/"), "no preview hosts here");
        return api_origin_preview(server, ada, id);
    }
    // A link from the API: the pass is traded for the preview origin's own cookie.
    let link = ada.json(&["preview", "dev"])["url"].as_str().unwrap().to_string();
    let rest = link.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    assert!(authority.ends_with(".preview.localhost") || authority.contains(".preview.localhost:"), "{link}");
    let (status, head, _) = http(server, "GET", authority, path, &[]);
    assert_eq!(status, 303, "{head}");
    let cookie = head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).expect("a cookie").to_string();
    assert!(cookie.contains("httponly") && cookie.starts_with("burstflare_preview="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let (status, _, body) = http(server, "GET", authority, "/index.html", &[("Cookie", &pair)]);
    assert_eq!((status, body.as_str()), (200, PAGE));
    // Without the cookie, or on another session's host, the preview is refused.
    assert_eq!(http(server, "GET", authority, "/", &[]).0, 401);
    let other = authority.replacen(&authority[..8], "00000000", 1);
    assert_eq!(http(server, "GET", &other, "/", &[("Cookie", &pair)]).0, 401);
    api_origin_preview(server, ada, id);
}

/// On the API's origin, for API clients: sandboxed by its CSP.
fn api_origin_preview(server: &TestServer, ada: &User, id: &str) {
    let host = "127.0.0.1";
    let bearer = format!("Bearer {}", ada.config_field("token"));
    let path = format!("/runtime/sessions/{id}/preview/index.html");
    let (status, head, body) = http(server, "GET", host, &path, &[("Authorization", &bearer)]);
    assert_eq!((status, body.as_str()), (200, PAGE), "{head}");
    assert!(head.contains("content-security-policy: sandbox"), "{head}");
    assert_eq!(http(server, "GET", host, &path, &[]).0, 401, "no credentials, no preview");
    let root = format!("/runtime/sessions/{id}/preview/");
    let (status, _, body) = http(server, "GET", host, &root, &[("Authorization", &bearer)]);
    assert_eq!((status, body.as_str()), (200, PAGE), "the app's root");
}

fn scp_both_ways(ada: &User, work: &std::path::Path) {
    let config = work.join("ssh_config");
    let wrote = ada.ok(&["ssh-config", "--file", config.to_str().unwrap()]);
    assert!(wrote.contains("burstflare-dev"), "{wrote}");
    let original: Vec<u8> = (0..1_500_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(work.join("up.bin"), &original).unwrap();
    let scp = |from: &str, to: &str| {
        let status = std::process::Command::new("scp")
            .args(["-q", "-F", config.to_str().unwrap(), from, to])
            .env("BURSTFLARE_FORWARDED_FOR", "10.200.0.1")
            .status()
            .expect("scp runs");
        assert!(status.success(), "scp {from} {to}");
    };
    scp(work.join("up.bin").to_str().unwrap(), "burstflare-dev:copied.bin");
    scp("burstflare-dev:copied.bin", work.join("down.bin").to_str().unwrap());
    assert_eq!(std::fs::read(work.join("down.bin")).unwrap(), original, "the same bytes came back");
}

/// `ssh -N -L` forwards a local port to the app inside the session.
fn forward_a_port(ada: &User) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let spec = format!("{port}:127.0.0.1:8000");
    // Its own process group: `burstflare ssh` runs `ssh`, which runs `burstflare ssh-proxy`.
    let mut child =
        ada.command(&["ssh", "dev", "--", "-N", "-L", &spec]).process_group(0).spawn().expect("ssh -L runs");
    let mut body = String::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n");
            let _ = stream.read_to_string(&mut body);
            if body.contains(PAGE) {
                break;
            }
        }
    }
    let _ = std::process::Command::new("kill").args(["-TERM", "--", &format!("-{}", child.id())]).status();
    let _ = child.wait();
    assert!(body.contains(PAGE), "the forwarded port reaches the app: {body}");
}

#[test]
fn a_sandboxed_session_serves_its_preview_a_terminal_and_ssh() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_with_session(&server);
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    let id = session_id(&ada);
    let logs = ada.ok(&["session", "logs", "dev"]);
    assert!(logs.contains("command started"), "{logs}");

    preview_checks(&server, &ada, &id);

    let terminal = ada.run_with_stdin(&["terminal", "dev"], "echo $((6*7))\nexit\n");
    assert_eq!(terminal.code, Some(0), "{terminal:?}");
    assert!(terminal.stdout.split(['\r', '\n']).any(|l| l == "42"), "{terminal:?}");

    let run = ssh(&ada, &["echo $((6*7)); pwd; ls"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "42\n/workspace\nburstflare.json\nindex.html\n");
    assert_eq!(ssh(&ada, &["exit 3"]).code, Some(3), "the remote exit status comes back");
    if !server.is_external() {
        // The session cannot write the host (the sandbox binds it read-only; a container is
        // its own machine).
        let escape = ssh(&ada, &["touch /usr/escaped 2>/dev/null || echo refused"]);
        assert_eq!(escape.stdout.trim(), "refused", "{escape:?}");
    }

    let work = tempfile::tempdir().unwrap();
    scp_both_ways(&ada, work.path());
    forward_a_port(&ada);

    // Stopped, then woken by ssh: natively the workspace is still there; a new container
    // starts from the bundle (only persisted paths outlive it).
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
    let woke = ssh(&ada, &["ls"]);
    let kept = if server.is_external() {
        "burstflare.json\nindex.html\n"
    } else {
        "burstflare.json\ncopied.bin\nindex.html\n"
    };
    assert_eq!((woke.code, woke.stdout.as_str()), (Some(0), kept), "{woke:?}");
    assert_eq!(ada.json(&["session", "show", "dev"])["session"]["state"], "running");
    let known = std::fs::read_to_string(ada.config_path().with_file_name("known_hosts")).unwrap();
    assert_eq!(known.lines().count(), 1, "one pinned key, the same after the restart: {known}");
}

/// Kills its process (by its PID) when dropped, also after a failed assertion.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `burstflare ssh-proxy` ends when the session ends its stream, even while its own input stays
/// open and silent, as `ssh -N`'s does: neither it nor the `ssh` it serves lingers.
#[test]
fn ssh_proxy_exits_when_the_session_ends_the_stream() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_with_session(&server);
    ada.ok(&["session", "start", "dev"]);
    let mut command = ada.command(&["ssh-proxy", "dev"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut proxy = Reaped(command.spawn().expect("ssh-proxy runs"));
    // An SSH client speaks first, then waits in silence with its input open.
    let mut input = proxy.0.stdin.take().unwrap();
    input.write_all(b"SSH-2.0-test\r\n").unwrap();
    let mut output = proxy.0.stdout.take().unwrap();
    let mut banner = [0u8; 4];
    output.read_exact(&mut banner).expect("the SSH server answers");
    assert_eq!(&banner, b"SSH-");
    // The output stays read to its end, so the proxy never meets a closed pipe.
    let drained = std::thread::spawn(move || std::io::copy(&mut output, &mut std::io::sink()));

    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "ssh-proxy still runs 20 s after its session stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    drained.join().unwrap().expect("the output read to its end");
    drop(input);
}

#[test]
fn a_running_session_survives_a_server_restart() {
    let mut server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_with_session(&server);
    ada.ok(&["session", "start", "dev"]);
    assert_eq!(ssh(&ada, &["echo before > state.txt"]).code, Some(0));
    server.restart();
    assert_eq!(ada.json(&["session", "show", "dev"])["session"]["state"], "running");
    let run = ssh(&ada, &["cat state.txt"]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), "before\n"), "the same agent answers: {run:?}");
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
}

#[test]
fn viewers_outsiders_forged_tokens_and_other_sites_are_refused() {
    let server = TestServer::with_local_runtime(SandboxMode::Plain);
    let ada = ada_with_session(&server);
    ada.ok(&["session", "start", "dev"]);
    let id = session_id(&ada);
    assert_eq!(ssh(&ada, &["echo plain"]).stdout, "plain\n", "plain processes run sessions too");

    let bob = User::new(&server, "bob@example.com");
    bob.register();
    let invite = ada.ok(&["workspace", "invite", &bob.email, "--role", "viewer"]);
    let code = invite.lines().find_map(|l| l.trim().strip_prefix("Invite code: ")).unwrap().trim().to_string();
    bob.ok(&["workspace", "accept", &code, "--switch"]);
    let refused = bob.run(&["ssh", "dev", "--", "true"]);
    assert!(refused.stderr.contains("insufficient_permissions"), "{refused:?}");
    let refused = bob.fails(&["terminal", "dev"]);
    assert!(refused.contains("insufficient_permissions"), "{refused}");
    let link = bob.json(&["preview", "dev"])["url"].as_str().unwrap().to_string();
    assert!(link.contains(".preview.localhost") || server.is_external(), "viewers may preview: {link}");

    let eve = User::new(&server, "eve@example.com");
    eve.register();
    let refused = eve.run(&["ssh", &id, "--", "true"]);
    assert!(refused.stderr.contains("session_not_found"), "{refused:?}");

    let upgrade = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")];
    let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    let terminal = format!("/runtime/sessions/{id}/terminal");
    let forged = format!("{terminal}?token=bfrt_{}", "a".repeat(43));
    let (status, _, _) = http(&server, "GET", "127.0.0.1", &forged, &[upgrade[0], upgrade[1], upgrade[2], key]);
    assert_eq!(status, 401, "a forged runtime token");
    // The browser's cookie counts only from the server's own pages.
    let cookie = format!("burstflare_access={}", ada.config_field("token"));
    let evil = [upgrade[0], upgrade[1], upgrade[2], key, ("Cookie", &cookie), ("Origin", "http://evil.example")];
    assert_eq!(http(&server, "GET", "127.0.0.1", &terminal, &evil).0, 403, "a cross-site page");
    let own = format!("http://{}", server.url().trim_start_matches("http://"));
    let host = server.url().trim_start_matches("http://").to_string();
    let same = [upgrade[0], upgrade[1], upgrade[2], key, ("Cookie", &cookie), ("Origin", &own)];
    assert_eq!(http(&server, "GET", &host, &terminal, &same).0, 101, "the server's own page");

    // The agent dies (its process, or its container, killed behind the server's back): the
    // next connection says so and the session is failed, its quota slot freed (at once natively;
    // under the Worker when its object sees the container exit, or at the latest on its next
    // heartbeat, every 5 s).
    server.kill_runtime(&id);
    std::thread::sleep(Duration::from_millis(200));
    let refused = ada.run(&["ssh", "dev", "--", "true"]);
    assert_ne!(refused.code, Some(0), "{refused:?}");
    let mut session = ada.json(&["session", "show", "dev"]);
    for _ in 0..40 {
        if session["session"]["state"] == "failed" {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        session = ada.json(&["session", "show", "dev"]);
    }
    assert_eq!(session["session"]["state"], "failed", "{session}");
    assert!(session["session"]["stateDetail"].as_str().unwrap().contains("stopped unexpectedly"), "{session}");
}
