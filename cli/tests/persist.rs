//! Persisted paths with real sessions: the native server, its local runtime (the agent in a
//! bubblewrap sandbox), the real `burstflare` binary and the real OpenSSH client. A file written
//! through `ssh` into a persisted path is saved when the session stops and restored when it starts
//! on a fresh workspace (its folder removed on the host, as a new machine would have it), also
//! across a server restart; `snapshot save` and `snapshot restore` work on a running session; an
//! uploaded archive that tries to leave the workspace is refused on restore, changing nothing; a
//! save that fails (over the snapshot limit, or past a restore's limits) keeps the previous data;
//! a stop whose client hangs up still saves; and `snapshot download`/`delete` move the very bytes.
//!
//! All but the first also run against the Worker under `wrangler dev` with real containers
//! (`scripts/test-worker`), where a start is a new container and the archive travels through the
//! session's Durable Object to R2.

mod common;

use burstflare_edge::native::SandboxMode;
use common::{TestServer, User};
use std::path::PathBuf;

const MANIFEST: &str = r#"{ "image": "debian:12", "persistedPaths": ["/workspace/data"], "idleTimeoutSeconds": 600 }"#;

/// Ada with a session `dev` whose template persists `/workspace/data`, running.
fn ada_running(server: &TestServer) -> User {
    ada_running_with(server, MANIFEST)
}

fn ada_running_with(server: &TestServer, manifest_json: &str) -> User {
    let ada = User::new(server, "ada@example.com");
    ada.register();
    ada.ok(&["template", "create", "keeper"]);
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("burstflare.json");
    std::fs::write(&manifest, manifest_json).unwrap();
    std::fs::write(work.path().join("README.txt"), "from the bundle").unwrap();
    let args = ["template", "version", "add", "keeper", "--version", "1.0.0", "--manifest"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend([manifest.to_str().unwrap(), "--bundle", work.path().to_str().unwrap(), "--wait"]);
    ada.ok(&args);
    ada.ok(&["template", "promote", "keeper", "1.0.0"]);
    ada.ok(&["session", "create", "dev", "--template", "keeper"]);
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    ada
}

/// Runs a shell command in the session through `burstflare ssh`; its standard output.
fn sh(ada: &User, command: &str) -> String {
    let run = ada.run(&["ssh", "dev", "--", command]);
    assert_eq!(run.code, Some(0), "{command}: {run:?}");
    run.stdout
}

/// The session's persisted folder on the host.
fn host_data(server: &TestServer, ada: &User) -> PathBuf {
    let id = ada.json(&["session", "show", "dev"])["session"]["id"].as_str().unwrap().to_string();
    server.data_dir().join("sessions").join(id).join("workspace").join("data")
}

fn latest(ada: &User) -> serde_json::Value {
    let list = ada.json(&["snapshot", "list", "dev"]);
    let id = list["latestSnapshotId"].clone();
    list["snapshots"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned().unwrap_or_default()
}

#[test]
fn files_in_persisted_paths_survive_stop_start_and_a_server_restart() {
    let mut server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_running(&server);
    sh(&ada, "mkdir -p data/deep && echo kept > data/deep/note.txt && ln -s deep/note.txt data/link");
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
    let saved = latest(&ada);
    assert_eq!((saved["kind"].as_str(), saved["contentType"].as_str()), (Some("automatic"), Some("application/zstd")));
    assert!(saved["bytes"].as_u64().unwrap() > 0, "{saved}");

    // A fresh machine: nothing of the folder is left until the start restores it.
    std::fs::remove_dir_all(host_data(&server, &ada)).unwrap();
    ada.ok(&["session", "start", "dev"]);
    assert_eq!(sh(&ada, "cat data/deep/note.txt data/link; cat README.txt"), "kept\nkept\nfrom the bundle");

    // Saved and restored by hand while it runs.
    let manual = ada.json(&["snapshot", "save", "dev", "--label", "checkpoint"]);
    let manual_id = manual["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (manual["snapshot"]["latest"].as_bool(), manual["snapshot"]["kind"].as_str()),
        (Some(true), Some("manual"))
    );
    sh(&ada, "echo changed > data/deep/note.txt && touch data/extra");
    let restored = ada.ok(&["snapshot", "restore", "dev", &manual_id]);
    assert!(restored.contains("Restored snapshot"), "{restored}");
    assert_eq!(sh(&ada, "cat data/deep/note.txt; ls data"), "kept\ndeep\nlink\n");

    // Across a server restart: saved on the stop, restored by the new server's start.
    sh(&ada, "echo second > data/deep/note.txt");
    ada.ok(&["session", "stop", "dev"]);
    server.restart();
    std::fs::remove_dir_all(host_data(&server, &ada)).unwrap();
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    assert_eq!(sh(&ada, "cat data/deep/note.txt"), "second\n");
    ada.ok(&["session", "stop", "dev"]);
}

/// A tar + zstd archive with one entry named `name` (written raw, past the tar crate's checks).
fn hostile_archive(name: &str) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &b"evil"[..]).unwrap();
    zstd::encode_all(&builder.into_inner().unwrap()[..], 3).unwrap()
}

/// On either shape: what a persisted path holds outlives a stop (the rest of the workspace only
/// natively, where the session's folder stays), and a manual save restores on demand.
#[test]
fn a_persisted_file_comes_back_after_stop_and_start() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_running(&server);
    sh(&ada, "mkdir -p data && echo kept > data/note.txt && echo loose > loose.txt");
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.");
    assert_eq!(latest(&ada)["kind"], "automatic");
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    let loose = if server.is_external() { "" } else { "loose\n" };
    assert_eq!(sh(&ada, "cat data/note.txt; cat loose.txt 2>/dev/null; true"), format!("kept\n{loose}"));
    let manual = ada.json(&["snapshot", "save", "dev"]);
    let manual_id = manual["snapshot"]["id"].as_str().unwrap().to_string();
    sh(&ada, "echo changed > data/note.txt");
    ada.ok(&["snapshot", "restore", "dev", &manual_id]);
    assert_eq!(sh(&ada, "cat data/note.txt"), "kept\n");
    ada.ok(&["session", "stop", "dev"]);
}

/// A save that fails (here: over the server's snapshot limit) keeps the previous snapshot as the
/// latest, says why on the session, and the next start brings back that previous data.
#[test]
fn a_failed_save_keeps_the_previous_data_and_says_why() {
    let limit = burstflare_core::Config { snapshot_limit_bytes: 16 * 1024, ..Default::default() };
    let server = TestServer::with_local_runtime_and(SandboxMode::Bwrap, limit);
    save_fails_and_keeps_the_previous_data(&server, "head -c 65536 /dev/urandom > data/big.bin", "");
}

/// Saves `data/note.txt` on a stop, then runs `change` in the session (which must make the next
/// save fail) and stops again: the stop completes, the session says the save failed (and
/// `reason`), the previous snapshot stays the latest and the next start brings its data back.
fn save_fails_and_keeps_the_previous_data(server: &TestServer, change: &str, reason: &str) {
    let ada = ada_running(server);
    sh(&ada, "mkdir -p data && echo kept > data/note.txt");
    ada.ok(&["session", "stop", "dev"]);
    let good = latest(&ada)["id"].clone();
    assert!(good.is_string(), "the small save landed");
    ada.ok(&["session", "start", "dev"]);
    sh(&ada, &format!("{change} && echo changed > data/note.txt"));
    assert_eq!(ada.ok(&["session", "stop", "dev"]).trim(), "Session dev is sleeping.", "the stop completes");
    let session = ada.json(&["session", "show", "dev"]);
    let detail = session["session"]["stateDetail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("the last save failed") && detail.contains(reason), "{session}");
    assert_eq!(latest(&ada)["id"], good, "the previous snapshot stays the latest");
    ada.ok(&["session", "start", "dev"]);
    let listed = sh(&ada, "cat data/note.txt; ls data");
    assert_eq!(listed, "kept\nnote.txt\n", "the previous data came back");
    ada.ok(&["session", "stop", "dev"]);
}

/// Sends `POST path` as Ada over plain HTTP; the connection, for reading the answer or hanging up.
fn post(server: &TestServer, ada: &User, path: &str) -> std::net::TcpStream {
    use std::io::Write;
    let addr = server.url().trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let token = ada.config_field("token");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

/// Polls the session until it is in `state` (up to about `seconds`); the last state seen.
fn wait_for_state(ada: &User, state: &str, seconds: u64) -> serde_json::Value {
    let mut seen = ada.json(&["session", "show", "dev"])["session"]["state"].clone();
    for _ in 0..seconds * 4 {
        if seen == state {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        seen = ada.json(&["session", "show", "dev"])["session"]["state"].clone();
    }
    seen
}

/// `POST /api/admin/reconcile` as Ada (her workspace's owner), over plain HTTP.
fn reconcile(server: &TestServer, ada: &User) -> serde_json::Value {
    use std::io::Read;
    let mut stream = post(server, ada, "/api/admin/reconcile");
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = body.find('{').map_or("", |start| &body[start..=body.rfind('}').unwrap_or(start)]);
    serde_json::from_str(json).unwrap_or_default()
}

/// On either shape: reconcile puts an idle session to sleep and saves its persisted paths first
/// (on the Worker the archive streams from the session's object to R2); the next start has them.
#[test]
fn reconciles_idle_sleep_saves_the_persisted_paths() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let idle = r#"{ "image": "debian:12", "persistedPaths": ["/workspace/data"], "idleTimeoutSeconds": 1 }"#;
    let ada = ada_running_with(&server, idle);
    sh(&ada, "mkdir -p data && echo kept > data/note.txt");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let report = reconcile(&server, &ada);
    assert_eq!(wait_for_state(&ada, "sleeping", 10), "sleeping", "{report}");
    assert_eq!(latest(&ada)["kind"], "automatic", "saved before the sleep");
    assert_eq!(ada.ok(&["session", "start", "dev"]).trim(), "Session dev is running.");
    assert_eq!(sh(&ada, "cat data/note.txt"), "kept\n");
    ada.ok(&["session", "stop", "dev"]);
}

#[test]
fn an_uploaded_archive_that_leaves_the_workspace_is_refused_on_restore() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_running(&server);
    sh(&ada, "mkdir -p data && echo mine > data/file.txt");
    let work = tempfile::tempdir().unwrap();
    for (i, name) in ["../escape.txt", "data/../../escape.txt", "/tmp/absolute.txt", "elsewhere.txt"].iter().enumerate()
    {
        let file = work.path().join(format!("hostile-{i}.tar.zst"));
        std::fs::write(&file, hostile_archive(name)).unwrap();
        let uploaded = ada.json(&["snapshot", "upload", "dev", file.to_str().unwrap()]);
        let id = uploaded["snapshot"]["id"].as_str().unwrap().to_string();
        let refused = ada.fails(&["snapshot", "restore", "dev", &id]);
        assert!(refused.contains("restore_failed"), "{name}: {refused}");
        assert_eq!(
            sh(&ada, "cat data/file.txt; ls"),
            "mine\nREADME.txt\nburstflare.json\ndata\n",
            "{name} changed nothing"
        );
    }
    ada.ok(&["session", "stop", "dev"]);
}

/// A client that hangs up while its stop is saving cuts nothing off: the save and the teardown
/// run to their end, and the next start has the files.
#[test]
fn a_stop_whose_client_hangs_up_still_saves_and_sleeps() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let ada = ada_running(&server);
    sh(&ada, "mkdir -p data && head -c 67108864 /dev/urandom > data/big.bin && echo kept > data/note.txt");
    let id = ada.json(&["session", "show", "dev"])["session"]["id"].as_str().unwrap().to_string();
    let stream = post(&server, &ada, &format!("/api/sessions/{id}/stop"));
    std::thread::sleep(std::time::Duration::from_millis(150));
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);
    assert_eq!(wait_for_state(&ada, "sleeping", 60), "sleeping", "the stop went on without its client");
    let saved = latest(&ada);
    assert!(saved["bytes"].as_u64().unwrap_or(0) > 64 << 20, "the whole save landed: {saved}");
    ada.ok(&["session", "start", "dev"]);
    assert_eq!(sh(&ada, "cat data/note.txt; stat -c %s data/big.bin"), "kept\n67108864\n");
    ada.ok(&["session", "stop", "dev"]);
}

/// Anything a save stores can be restored: persisted paths past a restore's limits (more entries
/// than it takes) fail the save with the reason, before anything is stored; the previous snapshot
/// stays the latest and the next start brings its data back.
#[test]
fn a_save_past_a_restores_limits_fails_and_keeps_the_previous_data() {
    let server = TestServer::with_local_runtime(SandboxMode::Bwrap);
    let many = "mkdir -p data/many && (cd data/many && seq 20000 | xargs touch)";
    save_fails_and_keeps_the_previous_data(&server, many, "more than 20000 entries");
}

/// `snapshot download` writes exactly the stored bytes, checks them against the snapshot's
/// SHA-256 and keeps nothing when they differ (the stored object altered here); `snapshot delete`
/// removes the record and its object.
#[test]
fn snapshots_download_with_their_digest_checked_and_delete_with_their_object() {
    let server = TestServer::start();
    let ada = ada_running(&server);
    let work = tempfile::tempdir().unwrap();
    let archive: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let upload = work.path().join("work.tar.zst");
    std::fs::write(&upload, &archive).unwrap();
    let uploaded = ada.json(&["snapshot", "upload", "dev", upload.to_str().unwrap()])["snapshot"].clone();
    let id = uploaded["id"].as_str().unwrap().to_string();
    let sha256 = format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&archive)));
    assert_eq!(uploaded["sha256"], sha256.as_str());

    let out = work.path().join("out.tar.zst");
    let downloaded = ada.json(&["snapshot", "download", "dev", &id, "-o", out.to_str().unwrap()]);
    assert_eq!((downloaded["bytes"].as_u64(), downloaded["sha256"].as_str()), (Some(300_000), Some(sha256.as_str())));
    assert_eq!(std::fs::read(&out).unwrap(), archive, "the very bytes");

    // The stored object altered behind the record's back (its last byte): refused, nothing kept.
    let object = server.data_dir().join("blobs").join(uploaded["objectKey"].as_str().unwrap());
    let mut stored = std::fs::read(&object).unwrap();
    let last = stored.len() - 1;
    stored[last] ^= 0xff;
    std::fs::write(&object, &stored).unwrap();
    let bad = work.path().join("bad.tar.zst");
    let refused = ada.fails(&["snapshot", "download", "dev", &id, "-o", bad.to_str().unwrap()]);
    assert!(refused.contains("digest_mismatch"), "{refused}");
    assert!(!bad.exists() && !bad.with_extension("partial").exists(), "nothing kept");

    let deleted = ada.ok(&["snapshot", "delete", "dev", &id]);
    assert!(deleted.contains(&format!("Deleted snapshot {id}")), "{deleted}");
    let list = ada.json(&["snapshot", "list", "dev"]);
    assert!(list["snapshots"].as_array().unwrap().iter().all(|s| s["id"] != id.as_str()), "{list}");
    assert!(list["latestSnapshotId"].is_null(), "{list}");
    assert!(!object.exists(), "its object went");
    let gone = ada.fails(&["snapshot", "download", "dev", &id, "-o", bad.to_str().unwrap()]);
    assert!(gone.contains("snapshot_not_found"), "{gone}");
}
