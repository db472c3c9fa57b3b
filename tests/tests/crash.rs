//! A server killed with SIGKILL in the middle of concurrent writes loses none that it
//! acknowledged: 16 clients create invites as fast as they can, the real server binary is killed
//! mid-stream, and every invite answered `200` is in the database afterwards (WAL with
//! `synchronous=NORMAL`: a commit is durable against a process crash, and with group commit a
//! caller is answered only after the `COMMIT` that holds its batch). Ten trials, killed at a
//! different moment each time.

use burstflare_adapters_sqlite::SqliteStore;
use burstflare_api::routes;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::time::Timestamp;
use burstflare_tests::http::{register, Api};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WRITERS: usize = 16;
const TRIALS: u64 = 10;

/// The server binary of this build (`./scripts/test` builds the workspace's binaries first).
fn server_binary() -> PathBuf {
    let deps = std::env::current_exe().expect("the test's path");
    let bin = deps.parent().and_then(|d| d.parent()).expect("target/<profile>").join("burstflare-server");
    assert!(bin.exists(), "{} is missing: run `cargo build -p burstflare-edge` first", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_write() {
    for trial in 0..TRIALS {
        trial_once(trial).await;
    }
}

async fn trial_once(trial: u64) {
    let data = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let mut server = Command::new(server_binary())
        .args(["--listen", url.trim_start_matches("http://"), "--trust-forwarded-for", "--sandbox", "plain"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{url}/api/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server answers");
    let owner = register(&Api::new(&url), "crash").await;

    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (http, url, token, acked) = (http.clone(), url.clone(), owner.token.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let email = format!("t{trial}-w{w}-{i}@example.com");
                    let sent = http
                        .post(format!("{url}{}", routes::INVITES))
                        .bearer_auth(&token)
                        .header("x-forwarded-for", format!("10.9.{w}.1"))
                        .json(&serde_json::json!({ "email": email, "role": "member" }))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            acked.lock().unwrap().insert(email);
                        }
                        Ok(r) => panic!("an invite was refused: {}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150 + 40 * trial)).await;
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    for writer in writers {
        writer.await.expect("a writer");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "trial {trial}: some writes were acknowledged before the kill");

    let store = SqliteStore::open_in(data.path()).await.expect("the database opens after the kill");
    let workspace = WorkspaceId::from_raw(owner.workspace_id.clone());
    let stored: BTreeSet<String> = store
        .storage()
        .invites
        .list_pending(&workspace, Timestamp(0))
        .await
        .expect("invites")
        .into_iter()
        .map(|invite| invite.email.as_str().to_string())
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "trial {trial}: acknowledged but lost: {lost:?} ({} acknowledged)", acked.len());
}
