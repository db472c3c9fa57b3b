//! The bundle uploaded by the edge (`PUT /bundle`, how a container's driver hands it over): the
//! command waits for it, a refused bundle can be replaced, and an agent takes one bundle only.

mod common;

use common::{config, empty, full, TestAgent, SECRET};
use http::{Method, StatusCode};
use std::io::Write;

/// A `.tar.gz` holding `hello.txt`.
fn archive(content: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_path("hello.txt").unwrap();
    header.set_cksum();
    builder.append(&header, content.as_bytes()).unwrap();
    let mut gz = builder.into_inner().unwrap();
    gz.flush().unwrap();
    gz.finish().unwrap()
}

async fn put(agent: &TestAgent, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = agent.try_request(Method::PUT, "/bundle", Some(SECRET), full(body)).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_command_waits_for_the_uploaded_bundle_and_runs_in_what_it_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.bundle = Some(dir.path().join("state").join("bundle.tar.gz"));
    config.bundle_upload = true;
    config.command = Some(vec!["/bin/sh".into(), "-c".into(), "echo \"got $(cat hello.txt)\"; exec sleep 1000".into()]);
    let agent = TestAgent::start(dir, config).await;

    let (_, health) = agent.json(Method::GET, "/health").await;
    assert_eq!(health["bundle"], "awaiting");
    assert_eq!(health["command"]["state"], "none", "not started yet: {health}");

    let (status, body) = put(&agent, b"not a gzip stream".to_vec()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bundle_refused")));
    assert_eq!(agent.json(Method::GET, "/health").await.1["bundle"], "awaiting", "a refused bundle can be replaced");

    let (status, body) = put(&agent, archive("the bundle")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sha256"].as_str().map(str::len), Some(64));
    let log = agent.wait_for_log("got the bundle").await;
    assert!(log.contains("got the bundle"), "{log}");
    assert_eq!(agent.json(Method::GET, "/health").await.1["bundle"], "ready");

    let (status, body) = put(&agent, archive("another")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("bundle_already_placed")));
    let (status, _, _) = agent.try_request(Method::PUT, "/bundle", Some("wrong"), empty()).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_agent_without_bundle_upload_refuses_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let agent = TestAgent::start(dir, config).await;
    assert_eq!(agent.json(Method::GET, "/health").await.1["bundle"], "ready");
    let (status, body) = put(&agent, archive("x")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("bundle_not_expected")));
    agent.shutdown().await.unwrap();
}
