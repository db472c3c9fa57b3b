//! The agent's SSH server against the real OpenSSH client: commands, exit statuses, stdin, a
//! pty, the pinned host key, activity, and the end of a connection.

mod ssh_harness;

use burstflare_containers::activity::Activity;
use burstflare_containers::ssh::{serve, SshContext};
use ssh_harness::{noise, run, text, Server, SEED};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_in_the_workspace_and_its_exit_status_comes_back() {
    let mut server = Server::start().await;
    assert_eq!(server.activity.last(), None);

    let out = run(server.ssh(&[], Some("echo $((6*7))")), None).await;
    assert_eq!(text(&out.stdout), "42\n", "stderr: {}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    assert!(server.activity.last().is_some(), "a command is a use of the session");

    let out = run(server.ssh(&[], Some("exit 3")), None).await;
    assert_eq!(out.status.code(), Some(3));

    let out = run(server.ssh(&["-o", "SetEnv=CLIENT_VAR=given"], Some("echo $CLIENT_VAR")), None).await;
    assert_eq!(text(&out.stdout), "given\n", "env requests reach the command");

    let out =
        run(server.ssh(&[], Some("echo out; echo err >&2; pwd; echo $GREETING; env | grep -c CARGO")), None).await;
    let workspace = std::fs::canonicalize(server.workspace()).unwrap();
    let expected = format!("out\n{}\nhello from the manifest\n0\n", workspace.display());
    assert_eq!(text(&out.stdout), expected, "stdout and stderr are separate; only the session's env");
    assert_eq!(text(&out.stderr), "err\n");

    // `serve` returns, cleanly, once a client is done.
    for _ in 0..4 {
        let ended = tokio::time::timeout(Duration::from_secs(10), server.ended.recv()).await.unwrap().unwrap();
        ended.expect("a client that disconnects ends the connection cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_flows_to_the_command_and_eof_ends_it() {
    let server = Server::start().await;
    let input = noise(8 * 1024 * 1024);
    let out = run(server.ssh(&[], Some("cat")), Some(input.clone())).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout == input, "cat returned {} of {} bytes, or other bytes", out.stdout.len(), input.len());

    let out = run(server.ssh(&[], Some("wc -l")), Some(b"a\nb\nc\n".to_vec())).await;
    assert_eq!(text(&out.stdout).trim(), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pty_gives_the_command_a_terminal_with_the_clients_term() {
    let server = Server::start().await;
    let mut ssh = server.ssh(&["-tt"], Some("tty; echo TERM=$TERM; exit 5"));
    ssh.env("TERM", "xterm-256color");
    let out = run(ssh, None).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("/dev/pts/"), "a terminal: {stdout:?}");
    assert!(stdout.contains("TERM=xterm-256color"), "{stdout:?}");
    assert_eq!(out.status.code(), Some(5));

    // A shell (no command) on a pty reads what the user types.
    let mut ssh = server.ssh(&["-tt"], None);
    ssh.env("TERM", "xterm");
    let out = run(ssh, Some(b"echo typed-$((40+2))\nexit\n".to_vec())).await;
    assert!(text(&out.stdout).contains("typed-42"), "{:?}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_refuses_a_server_whose_key_is_not_the_pinned_one() {
    let server = Server::start_pinning([9; 32]).await;
    assert_ne!([9; 32], SEED);
    let out = run(server.ssh(&[], Some("echo should-not-run")), None).await;
    assert_eq!(out.status.code(), Some(255));
    assert!(!text(&out.stdout).contains("should-not-run"));
    assert!(text(&out.stderr).contains("Host key verification failed"), "{}", text(&out.stderr));
    assert_eq!(server.activity.last(), None, "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_kills_what_it_started() {
    let mut server = Server::start().await;
    let mut ssh = server.ssh(&[], Some("sleep 300 & echo $!; wait"));
    let mut child = ssh.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let read_pid = async {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).await.unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_pid).await.unwrap();
    let pid: i32 = text(&line).trim().parse().expect("the remote shell printed its child's pid");
    assert!(running(pid), "the background sleep runs while the client is connected");

    child.kill().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!running(pid), "the process group died with the connection");
    let ended = tokio::time::timeout(Duration::from_secs(10), server.ended.recv()).await.unwrap().unwrap();
    ended.expect("a client that vanishes ends the connection without an error");
}

/// Whether a process exists and is not a zombie waiting for its parent.
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_is_not_ssh_ends_with_an_error_and_nothing_runs() {
    let activity = Activity::new();
    let ctx = Arc::new(SshContext {
        host_key_seed: SEED,
        workspace: std::env::temp_dir(),
        shell: "/bin/sh".into(),
        env: Default::default(),
        activity: activity.clone(),
    });
    for garbage in [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), vec![b'x'; 1 << 20]] {
        let (mut client, server_end) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve(server_end, ctx.clone()));
        let _ = client.write_all(&garbage).await;
        drop(client);
        let result = tokio::time::timeout(Duration::from_secs(10), served).await.expect("serve returns").unwrap();
        assert!(result.is_err(), "garbage is an error");
    }
    assert_eq!(activity.last(), None);
}
