//! The persisted paths (`GET`/`PUT /persist`): archived as tar + zstd with a digest trailer,
//! restored in place of what is there, and hostile archives (absolute names, `..`, links out of
//! the root, entries outside the persisted paths, not zstd) refused with nothing changed.

mod common;

use common::{config, full, TestAgent, SECRET};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use sha2::Digest;
use std::fs;
use std::path::Path;

/// `GET /persist` with `TE: trailers`: the archive and its digest trailer, checked against what
/// `GET /persist/digest?archive=N` says of it (the readers that cannot see trailers).
async fn save(agent: &TestAgent) -> (Vec<u8>, String) {
    let stream = tokio::net::UnixStream::connect(agent.socket()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let request = Request::get("/persist")
        .header(http::header::HOST, "agent")
        .header(http::header::TE, "trailers")
        .header("x-burstflare-agent-secret", SECRET)
        .body(common::empty())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let number: u64 = response.headers()["x-burstflare-archive"].to_str().unwrap().parse().unwrap();
    let collected = response.into_body().collect().await.unwrap();
    let digest = collected.trailers().and_then(|t| t.get("x-burstflare-archive-sha256")).expect("a digest trailer");
    let digest = digest.to_str().unwrap().to_string();
    let path = |n: u64| format!("/persist/digest?archive={n}");
    let (status, _, body) = agent.try_request(Method::GET, &path(number), Some(SECRET), common::empty()).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["digest"], digest.as_str());
    let (status, _, _) =
        agent.try_request(Method::GET, &path(number + 1), Some(SECRET), common::empty()).await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "only the archive named gets its digest");
    (collected.to_bytes().to_vec(), digest)
}

async fn restore(agent: &TestAgent, archive: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = agent.try_request(Method::PUT, "/persist", Some(SECRET), full(archive)).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// A tar + zstd archive of one entry, its name written raw (past the tar crate's own checks).
fn hostile(name: &str, link: Option<&str>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(if link.is_some() { 0 } else { 4 });
    header.set_entry_type(if link.is_some() { tar::EntryType::Symlink } else { tar::EntryType::Regular });
    if let Some(target) = link {
        header.set_link_name(target).unwrap();
    }
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_cksum();
    builder.append(&header, &b"evil"[..if link.is_some() { 0 } else { 4 }]).unwrap();
    zstd::encode_all(&builder.into_inner().unwrap()[..], 3).unwrap()
}

fn workspace(agent: &TestAgent) -> &Path {
    &agent.config.workspace
}

#[tokio::test]
async fn persisted_paths_round_trip_and_hostile_archives_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.persisted_paths = vec!["data".into(), "notes.txt".into()];
    let ws = config.workspace.clone();
    fs::create_dir_all(ws.join("data/deep")).unwrap();
    fs::write(ws.join("data/deep/a.txt"), "first").unwrap();
    fs::write(ws.join("notes.txt"), "notes").unwrap();
    fs::write(ws.join("other.txt"), "not persisted").unwrap();
    std::os::unix::fs::symlink("deep/a.txt", ws.join("data/inside")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ws.join("data/outside")).unwrap();
    let agent = TestAgent::start(dir, config).await;

    let (archive, digest) = save(&agent).await;
    assert_eq!(digest, format!("sha256:{}", hex::encode(sha2::Sha256::digest(&archive))));

    // The user changes things; the restore brings back exactly what was saved.
    fs::write(ws.join("data/deep/a.txt"), "changed").unwrap();
    fs::write(ws.join("data/new.txt"), "new").unwrap();
    fs::remove_file(ws.join("notes.txt")).unwrap();
    fs::write(ws.join("other.txt"), "kept as it is").unwrap();
    let (status, body) = restore(&agent, archive.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fs::read_to_string(ws.join("data/deep/a.txt")).unwrap(), "first");
    assert_eq!(fs::read_to_string(ws.join("data/inside")).unwrap(), "first", "the link inside came back");
    assert!(!ws.join("data/new.txt").exists() && !ws.join("data/outside").exists());
    assert_eq!(fs::read_to_string(ws.join("notes.txt")).unwrap(), "notes");
    assert_eq!(fs::read_to_string(workspace(&agent).join("other.txt")).unwrap(), "kept as it is");

    for (name, link, why) in [
        ("../escape.txt", None, "escapes"),
        ("/tmp/absolute.txt", None, "escapes"),
        ("data/link", Some("/etc/passwd"), "escapes"),
        ("data/link", Some("../../../etc"), "escapes"),
        ("elsewhere.txt", None, "outside the persisted paths"),
    ] {
        let (status, body) = restore(&agent, hostile(name, link)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("persist_refused")));
        assert!(body["error"].as_str().unwrap().contains(why), "{name}: {body}");
        assert_eq!(fs::read_to_string(ws.join("data/deep/a.txt")).unwrap(), "first", "{name} changed nothing");
    }
    let (status, body) = restore(&agent, b"not zstd at all".to_vec()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("persist_refused")));
    let (status, _) = restore(&agent, archive[..archive.len() / 2].to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a cut-off archive is refused");
    assert!(ws.join("data/deep/a.txt").exists() && !dir_has(&agent.config.state_dir, "persist.part"));
    agent.shutdown().await.unwrap();
}

fn dir_has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// Anything a save stores can be restored: persisted paths past a restore's limits (here one
/// entry too many) are refused with the reason before an archive begins, the archiver itself stops
/// at the same limit, and the previous archive still restores the earlier data.
#[tokio::test]
async fn persisted_paths_past_a_restores_limits_are_not_archived() {
    use burstflare_containers::agent::persist::write_archive;
    use burstflare_containers::agent::persist_limits::persist_limits;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.persisted_paths = vec!["data".into()];
    let ws = config.workspace.clone();
    fs::create_dir_all(ws.join("data")).unwrap();
    fs::write(ws.join("data/note.txt"), "kept").unwrap();
    let agent = TestAgent::start(dir, config).await;
    let (good, _) = save(&agent).await;

    // `data` itself and its note are two entries: this many more files is one past the limit.
    let many = ws.join("data/many");
    fs::create_dir(&many).unwrap();
    for i in 0..persist_limits().max_entries - 2 {
        fs::File::create(many.join(i.to_string())).unwrap();
    }
    fs::write(ws.join("data/note.txt"), "changed").unwrap();
    let (status, _, body) = agent.try_request(Method::GET, "/persist", Some(SECRET), common::empty()).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("persist_too_large")));
    assert!(body["error"].as_str().unwrap().contains("more than 20000 entries"), "{body}");
    let stopped = write_archive(&ws, &["data".to_string()], &mut std::io::sink()).unwrap_err();
    assert_eq!(stopped.kind(), std::io::ErrorKind::InvalidData, "{stopped}");

    // One fewer fits, and what it stores restores.
    fs::remove_file(many.join("0")).unwrap();
    let (fits, _) = save(&agent).await;
    let (status, body) = restore(&agent, fits).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = restore(&agent, good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fs::read_to_string(ws.join("data/note.txt")).unwrap(), "kept", "the earlier data came back");
    assert!(!many.exists());
    agent.shutdown().await.unwrap();
}
