//! `burstflare template …`, `build …` and `release …` against a real server: a version added from
//! a directory builds, logs and promotes; a hostile archive fails its build with a readable
//! reason; bad bundles are refused before anything is sent; templates resolve by name, archive,
//! restore and delete.

mod common;

use common::{TestServer, User};
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const MANIFEST: &str = r#"{ "image": "ubuntu:24.04", "features": ["ssh"], "persistedPaths": ["/home/dev"] }"#;

/// A project directory: a manifest, a script, a relative symlink and a `.git` folder to skip.
fn project(root: &Path) -> PathBuf {
    let dir = root.join("project");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::create_dir_all(dir.join(".git/objects")).unwrap();
    fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(dir.join("burstflare.json"), MANIFEST).unwrap();
    fs::write(dir.join("src/start.sh"), "#!/bin/sh\nexec sleep infinity\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("src/start.sh", dir.join("start")).unwrap();
    dir
}

/// Ada, registered, with a template named `web`.
fn ada_with_template(server: &TestServer) -> User {
    let ada = User::new(server, "ada@example.com");
    ada.register();
    let out = ada.ok(&["template", "create", "web", "--description", "The web stack"]);
    assert!(out.starts_with("Created template web (tpl_"), "{out}");
    ada
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_string()
}

/// A tar.gz whose only entry is named `../evil` (written by hand: the tar crate refuses `..`).
fn hostile_bundle(path: &Path) {
    let data = b"pwned\n";
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..7].copy_from_slice(b"../evil");
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut gz = GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::default());
    gz.write_all(header.as_bytes()).unwrap();
    gz.write_all(data).unwrap();
    gz.write_all(&vec![0u8; 512 - data.len() + 1024]).unwrap();
    gz.finish().unwrap();
}

#[test]
fn a_version_from_a_directory_builds_logs_promotes_and_is_released() {
    let server = TestServer::start();
    let ada = ada_with_template(&server);
    let work = tempfile::tempdir().unwrap();
    let dir = project(work.path());
    let manifest = dir.join("burstflare.json");

    let added = ada.json(&[
        "template",
        "version",
        "add",
        "web",
        "--version",
        "1.0.0",
        "--manifest",
        manifest.to_str().unwrap(),
        "--notes",
        "first cut",
        "--bundle",
        dir.to_str().unwrap(),
    ]);
    let version = &added["templateVersion"];
    assert_eq!(version["version"], "1.0.0");
    assert_eq!(version["notes"], "first cut");
    assert!(version["bundle"]["bytes"].as_u64().unwrap() > 0, "{added}");
    assert_eq!(version["bundle"]["contentType"], "application/gzip");
    let build_id = text(&added["build"]["id"]);

    let waited = ada.ok(&["build", "wait", &build_id, "--timeout", "60"]);
    assert!(waited.starts_with(&format!("Build {build_id} succeeded: 2 files")), "{waited}");
    let build = ada.json(&["build", "wait", &build_id]);
    assert_eq!(build["build"]["status"], "succeeded");
    assert!(text(&build["build"]["artifact"]["digest"]).starts_with("sha256:"));

    let log = ada.ok(&["build", "log", &build_id]);
    assert!(log.lines().count() > 3, "{log}");
    assert!(log.contains("manifest: burstflare.json matches"), "{log}");
    assert!(log.contains("result: succeeded"), "{log}");
    assert_eq!(ada.json(&["build", "log", &build_id])["build"]["id"], build_id.as_str());

    let listed = ada.ok(&["build", "list", "--template", "web"]);
    assert!(
        listed.lines().any(|l| l.contains(&build_id) && l.contains("1.0.0") && l.contains("succeeded")),
        "{listed}"
    );

    let promoted = ada.ok(&["template", "promote", "web", "1.0.0"]);
    assert!(promoted.starts_with("Template web now runs version 1.0.0"), "{promoted}");
    let releases = ada.ok(&["release", "list"]);
    assert!(releases.lines().any(|l| l.contains("web") && l.contains("1.0.0")), "{releases}");
    let releases = ada.json(&["release", "list", "--template", "web"]);
    assert_eq!(releases["releases"].as_array().map(Vec::len), Some(1));
    assert_eq!(releases["releases"][0]["templateVersionId"], version["id"]);

    // By name, case-insensitively: the active version is marked.
    let shown = ada.ok(&["template", "show", "WEB"]);
    assert!(shown.lines().any(|l| l.starts_with("active") && l.contains("1.0.0")), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with('*') && l.contains("1.0.0") && l.contains("ready")), "{shown}");

    // The manifest defaults to the directory's burstflare.json; --wait follows the build.
    let out = ada.ok(&[
        "template",
        "version",
        "add",
        "web",
        "--version",
        "1.1.0",
        "--bundle",
        dir.to_str().unwrap(),
        "--wait",
    ]);
    assert!(out.contains("Added version 1.1.0") && out.contains(" succeeded: "), "{out}");
    let both = ada.json(&[
        "template",
        "version",
        "add",
        "web",
        "--version",
        "1.2.0",
        "--bundle",
        dir.to_str().unwrap(),
        "--wait",
    ]);
    assert_eq!(
        (both["templateVersion"]["version"].clone(), both["build"]["status"].clone()),
        (json!("1.2.0"), json!("succeeded"))
    );
    // Promoting by version id works too.
    let id = text(&both["templateVersion"]["id"]);
    assert_eq!(ada.json(&["template", "promote", "web", &id])["template"]["activeVersionId"], id.as_str());
    let list = ada.ok(&["template", "list"]);
    assert!(list.lines().any(|l| l.contains("web") && l.contains("1.2.0")), "{list}");
}

#[test]
fn a_hostile_bundle_fails_its_build_with_a_readable_reason() {
    let server = TestServer::start();
    let ada = ada_with_template(&server);
    let work = tempfile::tempdir().unwrap();
    let (evil, manifest) = (work.path().join("evil.tar.gz"), work.path().join("manifest.json"));
    hostile_bundle(&evil);
    fs::write(&manifest, MANIFEST).unwrap();

    let added = ada.json(&[
        "template",
        "version",
        "add",
        "web",
        "--version",
        "6.6.6",
        "--manifest",
        manifest.to_str().unwrap(),
        "--bundle",
        evil.to_str().unwrap(),
    ]);
    let build_id = text(&added["build"]["id"]);
    let run = ada.run(&["build", "wait", &build_id, "--timeout", "60"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(last, "error: build failed: path escapes the bundle root: ../evil (build_failed)", "{run:?}");
    assert!(run.stderr.contains(&format!("burstflare build log {build_id}")), "{run:?}");

    // With --json the failed build is still printed, and the exit status still says it failed.
    let run = ada.run(&["build", "wait", &build_id, "--json"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["build"]["status"], "failed");
    assert!(ada.ok(&["build", "log", &build_id]).contains("result: failed: path escapes the bundle root"));

    // It can be promoted by nobody, and retried (to fail again).
    assert!(ada.fails(&["template", "promote", "web", "6.6.6"]).contains("(version_not_ready)"));
    let retried = ada.json(&["build", "retry", &build_id]);
    assert_eq!(retried["build"]["status"], "queued");
    assert!(ada.fails(&["build", "wait", &build_id]).contains("(build_failed)"));
    assert_eq!(ada.ok(&["build", "retry", "--dead-lettered"]), "No dead-lettered builds to retry.\n");
}

#[test]
fn bad_bundles_are_refused_before_anything_is_sent() {
    let server = TestServer::start();
    let ada = ada_with_template(&server);
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("manifest.json");
    fs::write(&manifest, MANIFEST).unwrap();
    let add = |bundle: &Path, with_manifest: bool| {
        let mut args =
            vec!["template", "version", "add", "web", "--version", "1.0.0", "--bundle", bundle.to_str().unwrap()];
        if with_manifest {
            args.extend(["--manifest", manifest.to_str().unwrap()]);
        }
        ada.fails(&args)
    };

    let plain = work.path().join("bundle.tar.gz");
    fs::write(&plain, "just some text, not gzip\n").unwrap();
    let stderr = add(&plain, true);
    assert!(stderr.contains("is not a gzip file") && stderr.trim_end().ends_with("(not_gzip)"), "{stderr}");
    assert!(add(&work.path().join("missing"), true).contains("(bundle_io)"));

    let dir = project(work.path());
    fs::write(dir.join("burstflare.json"), r#"{ "image": "alpine:3" }"#).unwrap();
    assert!(add(&dir, true).contains("(manifest_mismatch)"));
    fs::remove_file(dir.join("burstflare.json")).unwrap();
    assert!(add(&dir, false).contains("(missing_manifest)"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../../etc/passwd", dir.join("src/passwd")).unwrap();
        let stderr = add(&dir, true);
        assert!(
            stderr.contains("src/passwd -> ../../etc/passwd") && stderr.contains("(bundle_symlink_escapes)"),
            "{stderr}"
        );
    }

    // None of that created a version.
    let shown = ada.json(&["template", "show", "web"]);
    assert_eq!(shown["template"]["versions"].as_array().map(Vec::len), Some(0), "{shown}");
}

#[test]
fn a_build_waiting_for_its_bundle_times_out_until_the_bundle_is_uploaded() {
    let server = TestServer::start();
    let ada = ada_with_template(&server);
    let template_id = text(&ada.json(&["template", "show", "web"])["template"]["id"]);
    // A version added through the API directly has no bundle: its build waits.
    let url = format!("{}/api/templates/{template_id}/versions", server.url());
    let token = ada.config_field("token");
    let body = json!({ "version": "3.0.0", "manifest": serde_json::from_str::<Value>(MANIFEST).unwrap() });
    let added: Value = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let response = reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{response:?}");
        response.json().await.unwrap()
    });
    let build_id = text(&added["build"]["id"]);
    let stderr = ada.fails(&["build", "wait", &build_id, "--timeout", "1"]);
    assert!(
        stderr.contains(&format!("build {build_id} is still queued after 1 s")) && stderr.contains("(wait_timeout)")
    );

    let work = tempfile::tempdir().unwrap();
    let dir = project(work.path());
    let out = ada.ok(&["template", "version", "upload", "web", "3.0.0", "--bundle", dir.to_str().unwrap(), "--wait"]);
    assert!(out.contains(&format!("Build {build_id} succeeded")), "{out}");
    assert!(ada
        .fails(&["template", "version", "upload", "web", "9.9.9", "--bundle", "."])
        .contains("(version_not_found)"));
}

#[test]
fn templates_resolve_by_name_archive_restore_and_delete() {
    let server = TestServer::start();
    let ada = ada_with_template(&server);
    let id = text(&ada.json(&["template", "create", "api"])["template"]["id"]);
    assert!(ada.fails(&["template", "create", "API"]).contains("(template_name_taken)"));

    let shown = ada.ok(&["template", "show", "api"]);
    assert!(shown.lines().any(|l| l.starts_with("id") && l.ends_with(&id)), "{shown}");
    assert_eq!(ada.json(&["template", "show", &id])["template"]["name"], "api");

    assert_eq!(ada.ok(&["template", "archive", "api"]), format!("Archived template api ({id}).\n"));
    let list = ada.ok(&["template", "list"]);
    assert!(list.lines().any(|l| l.contains(&id) && l.contains("archived")), "{list}");
    assert!(ada.fails(&["template", "archive", &id]).contains("(template_archived)"));
    let restored = ada.json(&["template", "restore", "api"]);
    assert_eq!(restored["template"]["archivedAt"], Value::Null);

    let deleted = ada.ok(&["template", "delete", "api"]);
    assert_eq!(deleted, format!("Deleted template api ({id}) with 0 version(s), 0 build(s) and 0 release(s).\n"));
    assert!(ada
        .fails(&["template", "show", "api"])
        .contains("no template named api in this workspace (template_not_found)"));
    assert!(ada.fails(&["template", "show", &id]).contains("(template_not_found)"));
    let left = ada.json(&["template", "list"]);
    assert_eq!(left["templates"].as_array().map(Vec::len), Some(1));
    assert!(ada.fails(&["build", "retry"]).contains("required arguments were not provided"));
}
