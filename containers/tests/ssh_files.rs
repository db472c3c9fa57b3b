//! The agent's SSH server moving files and bytes for the real OpenSSH tools: `scp` (SFTP
//! underneath, as OpenSSH 9 does by default), `sftp` in batch mode, and `ssh -L` / `ssh -R`.

mod ssh_harness;

use ssh_harness::{noise, run, text, Server};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scp_copies_a_file_up_and_back_down() {
    let server = Server::start().await;
    let local = tempfile::tempdir().unwrap();
    let content = noise(5 * 1024 * 1024);
    std::fs::write(local.path().join("up.bin"), &content).unwrap();

    let mut scp = server.file_client("/usr/bin/scp");
    scp.arg(local.path().join("up.bin")).arg("user@127.0.0.1:uploaded.bin");
    let out = run(scp, None).await;
    assert_eq!(out.status.code(), Some(0), "scp up: {}", text(&out.stderr));
    assert!(std::fs::read(server.workspace().join("uploaded.bin")).unwrap() == content, "the upload is intact");

    let mut scp = server.file_client("/usr/bin/scp");
    scp.arg("user@127.0.0.1:uploaded.bin").arg(local.path().join("down.bin"));
    let out = run(scp, None).await;
    assert_eq!(out.status.code(), Some(0), "scp down: {}", text(&out.stderr));
    assert!(std::fs::read(local.path().join("down.bin")).unwrap() == content, "the download is intact");

    // An absolute remote path works too, and `-p` keeps the modification time.
    let target = server.workspace().join("abs.bin");
    let mut scp = server.file_client("/usr/bin/scp");
    scp.arg("-p").arg(local.path().join("up.bin")).arg(format!("user@127.0.0.1:{}", target.display()));
    let out = run(scp, None).await;
    assert_eq!(out.status.code(), Some(0), "scp -p: {}", text(&out.stderr));
    let here = std::fs::metadata(local.path().join("up.bin")).unwrap().modified().unwrap();
    let there = std::fs::metadata(&target).unwrap().modified().unwrap();
    let drift = here.duration_since(there).unwrap_or_else(|e| e.duration());
    assert!(drift < Duration::from_secs(1), "mtime kept (drift {drift:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_lists_makes_and_removes() {
    let server = Server::start().await;
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("note.txt"), "a note\n").unwrap();
    std::fs::write(server.workspace().join("already-there.txt"), "x").unwrap();
    let batch = local.path().join("batch");
    let script = format!(
        "pwd\nls\nmkdir docs\nput {} docs/note.txt\nls -l docs\nrename docs/note.txt docs/renamed.txt\nls docs\n\
         get docs/renamed.txt {}\nchmod 600 docs/renamed.txt\nrm docs/renamed.txt\nrmdir docs\nls\n",
        local.path().join("note.txt").display(),
        local.path().join("back.txt").display(),
    );
    std::fs::write(&batch, script).unwrap();

    let mut sftp = server.file_client("/usr/bin/sftp");
    sftp.arg("-b").arg(&batch).arg("user@127.0.0.1");
    let out = run(sftp, None).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "sftp: {stdout}\n{}", text(&out.stderr));
    let workspace = std::fs::canonicalize(server.workspace()).unwrap();
    assert!(stdout.contains(&format!("Remote working directory: {}", workspace.display())), "{stdout}");
    assert!(stdout.contains("already-there.txt"), "{stdout}");
    assert!(stdout.contains("note.txt"), "{stdout}");
    assert!(stdout.contains("renamed.txt"), "{stdout}");
    assert_eq!(std::fs::read_to_string(local.path().join("back.txt")).unwrap(), "a note\n");
    assert!(!server.workspace().join("docs").exists(), "removed again");

    // A failing command fails the batch.
    std::fs::write(&batch, "rm no-such-file\n").unwrap();
    let mut sftp = server.file_client("/usr/bin/sftp");
    sftp.arg("-b").arg(&batch).arg("user@127.0.0.1");
    let out = run(sftp, None).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("No such file"), "{}", text(&out.stderr));
}

/// A tiny TCP service of the "session": answers each line with `echo: LINE`.
async fn echo_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    let reply = [b"echo: ".as_slice(), &buf[..n]].concat();
                    if stream.write_all(&reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Connects to a forwarded port (retrying while ssh sets it up) and talks to the echo service.
async fn talk_through(port: u16) -> String {
    for _ in 0..200 {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await {
            if stream.write_all(b"ping\n").await.is_ok() {
                let mut buf = [0u8; 64];
                if let Ok(Ok(n @ 1..)) = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
                    return text(&buf[..n]);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("port {port} never forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_dash_l_forwards_a_local_port_to_the_session() {
    let server = Server::start().await;
    let app = echo_service().await;
    let local = free_port();
    let forward = format!("{local}:127.0.0.1:{app}");
    let mut ssh = server.ssh(&["-N", "-o", "ExitOnForwardFailure=yes", "-L", &forward], None);
    let mut child = ssh.spawn().unwrap();
    let before = server.activity.last();

    assert_eq!(talk_through(local).await, "echo: ping\n");
    assert_eq!(talk_through(local).await, "echo: ping\n", "a second connection over the same tunnel");
    assert!(server.activity.last() > before, "forwarded bytes are a use of the session");

    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_dash_r_forwards_a_session_port_back_to_the_client() {
    let server = Server::start().await;
    let client_app = echo_service().await;
    let remote = free_port();
    let forward = format!("127.0.0.1:{remote}:127.0.0.1:{client_app}");
    let mut ssh = server.ssh(&["-N", "-o", "ExitOnForwardFailure=yes", "-R", &forward], None);
    let mut child = ssh.spawn().unwrap();

    assert_eq!(talk_through(remote).await, "echo: ping\n");

    child.kill().await.unwrap();
}
