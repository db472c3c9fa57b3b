//! A server killed mid-build finishes the build after it restarts: the build's row is left in
//! `building` (as a crash leaves it), the server starts again on the same data folder, and the
//! build is requeued and completed without anyone asking.

use burstflare_adapters_sqlite::SqliteStore;
use burstflare_api::routes::{self, path};
use burstflare_core::ids::BuildId;
use burstflare_core::model::BuildStatus;
use burstflare_core::store::{Batch, Write};
use burstflare_edge::native::{start, ServerConfig};
use burstflare_tests::http::bundles::bundle;
use burstflare_tests::http::{register, Api};
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: Some(dir.to_path_buf()),
        trust_forwarded_for: true,
        ..ServerConfig::default()
    }
}

/// Leaves the build as a crash mid-build would: `building`, attempt counted.
async fn crash_mid_build(dir: &Path, build: &str) {
    let store = SqliteStore::open_in(dir).await.expect("database");
    let storage = store.storage();
    let current = storage.builds.get(&BuildId::from_raw(build)).await.expect("read").expect("build");
    let mut building = current.clone();
    building.status = BuildStatus::Building;
    building.attempts += 1;
    building.started_at = Some(burstflare_core::time::Timestamp(building.updated_at.millis() + 1));
    building.version += 1;
    let mut batch = Batch::new();
    batch.push(Write::UpdateBuild { build: building, expected_version: current.version });
    storage.uow.commit(batch).await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_interrupted_by_a_restart_finishes_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(config(dir.path())).await.expect("server");
    let api = Api::new(&server.url());
    let owner = register(&api, "restart").await;
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": "restart" })).await;
    let template = r.body["template"]["id"].as_str().expect("template").to_string();
    let versions = path(routes::VERSIONS, &[&template]);
    let r = api.post(&versions, Some(&owner.token), json!({ "version": "1", "manifest": { "image": "x" } })).await;
    let (version, build) = (
        r.body["templateVersion"]["id"].as_str().expect("version").to_string(),
        r.body["build"]["id"].as_str().expect("build").to_string(),
    );
    let r = api
        .req("PUT", &path(routes::BUNDLE, &[&template, &version]))
        .token(&owner.token)
        .raw(bundle(&[("a", "b")], None), Some("application/gzip"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.shutdown().await;

    crash_mid_build(dir.path(), &build).await;

    let server = start(config(dir.path())).await.expect("server restarts");
    let api = Api::new(&server.url());
    let build_path = path(routes::BUILD, &[&build]);
    let mut status = String::new();
    for _ in 0..100 {
        let r = api.get(&build_path, &owner.token).await;
        status = r.body["build"]["status"].as_str().unwrap_or_default().to_string();
        if status == "succeeded" {
            assert_eq!(r.body["build"]["attempts"], 2, "the interrupted attempt counts toward the limit");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded", "the interrupted build was finished after the restart");
    server.shutdown().await;
}
