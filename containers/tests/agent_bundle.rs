//! The template's bundle: unpacked into the workspace on the first start only, and a bundle
//! that would write outside the workspace stops the agent before it serves anything.

mod common;

use burstflare_containers::activity::Activity;
use burstflare_containers::agent::{self, bundle::MARKER};
use common::{config, echo_ssh, TestAgent};
use std::io::Write;
use std::path::Path;

async fn run(config: burstflare_containers::config::AgentConfig) -> anyhow::Result<()> {
    agent::run_with(config, Activity::new(), echo_ssh(), std::future::pending()).await
}

/// A `.tar.gz` of `(path, content)` files; `raw_names` skips the tar crate's own path checks.
fn bundle(path: &Path, files: &[(&str, &str)], raw_names: bool) {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        if raw_names {
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        } else {
            header.set_path(name).unwrap();
        }
        header.set_cksum();
        builder.append(&header, content.as_bytes()).unwrap();
    }
    let gz = builder.into_inner().unwrap().finish().unwrap();
    std::fs::File::create(path).unwrap().write_all(&gz).unwrap();
}

#[tokio::test]
async fn the_bundle_is_unpacked_on_the_first_start_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let archive = dir.path().join("bundle.tar.gz");
    bundle(&archive, &[("burstflare.json", "{}"), ("app/index.html", "<h1>hi</h1>"), ("./run.sh", "echo")], false);
    config.bundle = Some(archive);
    let workspace = config.workspace.clone();

    let agent = TestAgent::start(tempfile::tempdir().unwrap(), config.clone()).await;
    assert_eq!(std::fs::read_to_string(workspace.join("app/index.html")).unwrap(), "<h1>hi</h1>");
    assert!(workspace.join("run.sh").exists() && workspace.join("burstflare.json").exists());
    let marker = std::fs::read_to_string(config.state_dir.join(MARKER)).unwrap();
    assert_eq!(marker.trim().len(), 64, "the marker holds the bundle's sha256");
    agent.shutdown().await.unwrap();

    // The user changed a file; a restart must not put the bundle's version back.
    std::fs::write(workspace.join("app/index.html"), "edited").unwrap();
    std::fs::remove_file(workspace.join("run.sh")).unwrap();
    let agent = TestAgent::start(tempfile::tempdir().unwrap(), config).await;
    assert_eq!(std::fs::read_to_string(workspace.join("app/index.html")).unwrap(), "edited");
    assert!(!workspace.join("run.sh").exists());
    agent.shutdown().await.unwrap();
    drop(dir);
}

#[tokio::test]
async fn a_bundle_that_escapes_the_workspace_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let archive = dir.path().join("bundle.tar.gz");
    bundle(&archive, &[("ok.txt", "fine"), ("../x", "escaped")], true);
    config.bundle = Some(archive);
    let error = run(config.clone()).await.unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("path escapes the bundle root: ../x"), "{message}");
    assert!(!dir.path().join("x").exists());
    assert!(!config.state_dir.join(MARKER).exists());
    assert!(!dir.path().join("agent.sock").exists(), "it must not serve with a bad bundle");
}

#[tokio::test]
async fn a_bundle_that_is_not_gzip_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let archive = dir.path().join("bundle.tar.gz");
    std::fs::write(&archive, "plain text").unwrap();
    config.bundle = Some(archive);
    let message = format!("{:#}", run(config).await.unwrap_err());
    assert!(message.contains("not a gzip file"), "{message}");
}

#[test]
fn the_binary_exits_non_zero_with_a_clear_message_on_a_bad_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let archive = dir.path().join("bundle.tar.gz");
    bundle(&archive, &[("../x", "escaped")], true);
    config.bundle = Some(archive);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_burstflare-agent"))
        .env_clear()
        .env("BURSTFLARE_AGENT_CONFIG", serde_json::to_string(&config).unwrap())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("burstflare-agent: the bundle is refused: path escapes the bundle root: ../x"), "{stderr}");
    assert!(!stderr.contains(&config.secret));
}
