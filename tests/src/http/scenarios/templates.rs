//! Templates over HTTP: the whole path from template to release (version, upload through a
//! grant, build, log, promote, roll back), hostile bundles failing with reasons, and refused
//! uploads that leave the previous bundle intact.

use crate::http::bundles::{bundle, hostile};
use crate::http::fixtures::{register, Account};
use crate::http::{Api, Resp};
use burstflare_api::routes::{self, path};
use serde_json::{json, Value};
use std::time::Duration;

fn manifest() -> Value {
    json!({ "image": "node:22", "features": ["ssh"], "persistedPaths": ["/work"], "sleepTtlSeconds": 3600 })
}

pub(crate) async fn create_template(api: &Api, owner: &Account, name: &str) -> String {
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": name, "description": "dev box" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["template"]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn add_version(api: &Api, owner: &Account, template: &str, label: &str) -> (String, String) {
    let r = api
        .post(
            &path(routes::VERSIONS, &[template]),
            Some(&owner.token),
            json!({ "version": label, "manifest": manifest() }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["build"]["status"], "queued");
    (r.body["templateVersion"]["id"].as_str().unwrap().to_string(), r.body["build"]["id"].as_str().unwrap().to_string())
}

pub(crate) async fn upload(api: &Api, owner: &Account, template: &str, version: &str, body: Vec<u8>) -> Resp {
    api.req("PUT", &path(routes::BUNDLE, &[template, version]))
        .token(&owner.token)
        .raw(body, Some("application/gzip"))
        .send()
        .await
}

/// Polls the build until it ends (or 30 s pass).
pub(crate) async fn settled(api: &Api, owner: &Account, build: &str) -> Value {
    for _ in 0..300 {
        let r = api.get(&path(routes::BUILD, &[build]), &owner.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let status = r.body["build"]["status"].as_str().unwrap_or_default().to_string();
        if ["succeeded", "failed", "dead_lettered"].contains(&status.as_str()) {
            return r.body["build"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("build {build} did not finish");
}

pub async fn template_to_release_and_rollback(api: &Api) {
    let owner = register(api, "tpl").await;
    let template = create_template(api, &owner, "node-dev").await;
    let (v1, build1) = add_version(api, &owner, &template, "1.0.0").await;

    let archive = bundle(&[("README.md", "hello"), ("src/main.js", "console.log(1)")], Some(&manifest()));
    let grant_path = path(routes::BUNDLE_GRANT, &[&template, &v1]);
    let grant = json!({ "contentType": "application/gzip", "bytes": archive.len() });
    let r = api.post(&grant_path, Some(&owner.token), grant).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.body["uploadGrant"]["url"].as_str().unwrap().to_string();
    let grant_path = url.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
    let r = api.req("PUT", &grant_path).raw(archive.clone(), Some("application/gzip")).send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["templateVersion"]["bundle"]["bytes"], archive.len());
    let r = api.req("PUT", &grant_path).raw(archive.clone(), Some("application/gzip")).send().await;
    assert_eq!((r.status, r.code()), (404, "upload_grant_not_found"), "a grant is used once");

    let built = settled(api, &owner, &build1).await;
    assert_eq!(built["status"], "succeeded", "{built}");
    assert_eq!(built["artifact"]["fileCount"], 3);
    assert!(built["artifact"]["digest"].as_str().unwrap().starts_with("sha256:"));
    let log = api.get(&path(routes::BUILD_LOG, &[&build1]), &owner.token).await;
    assert_eq!(log.status, 200);
    assert!(log.text.contains("result: succeeded") && log.text.contains("burstflare.json matches"), "{}", log.text);

    let download = api.get(&path(routes::BUNDLE, &[&template, &v1]), &owner.token).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.header("content-type"), Some("application/gzip"));
    assert_eq!(download.bytes, archive, "the download is the upload");

    let promote = path(routes::TEMPLATE_PROMOTE, &[&template]);
    let r = api.post(&promote, Some(&owner.token), json!({ "versionId": v1 })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["template"]["activeVersion"]["version"], "1.0.0");

    let (v2, build2) = add_version(api, &owner, &template, "1.1.0").await;
    let r = api.post(&promote, Some(&owner.token), json!({ "versionId": v2 })).await;
    assert_eq!((r.status, r.code()), (409, "version_not_ready"));
    let r = upload(api, &owner, &template, &v2, bundle(&[("app.py", "print(2)")], None)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(settled(api, &owner, &build2).await["status"], "succeeded");
    assert_eq!(api.post(&promote, Some(&owner.token), json!({ "versionId": v2 })).await.status, 200);
    let r = api.post(&promote, Some(&owner.token), json!({ "versionId": v1 })).await;
    assert_eq!(r.body["template"]["activeVersionId"], v1.as_str(), "rolled back");
    let r = api.get(&format!("{}?templateId={template}", routes::RELEASES), &owner.token).await;
    let releases: Vec<&str> =
        r.body["releases"].as_array().unwrap().iter().filter_map(|x| x["templateVersionId"].as_str()).collect();
    assert_eq!(releases, vec![v1.as_str(), v2.as_str(), v1.as_str()], "newest first");

    let r = api.post(&path(routes::TEMPLATE_ARCHIVE, &[&template]), Some(&owner.token), json!({})).await;
    assert!(r.body["template"]["archivedAt"].is_string());
    let r = api.post(&path(routes::TEMPLATE_RESTORE, &[&template]), Some(&owner.token), json!({})).await;
    assert!(r.body["template"]["archivedAt"].is_null());
    let audit = api.get("/api/audit?limit=200", &owner.token).await;
    let actions: Vec<&str> =
        audit.body["audit"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    for expected in [
        "template.created",
        "template.version_added",
        "template.bundle_uploaded",
        "template.build_succeeded",
        "template.promoted",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

pub async fn hostile_bundles_fail_with_a_reason(api: &Api) {
    let owner = register(api, "hostile").await;
    let template = create_template(api, &owner, "hostile").await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("1", hostile("../evil", None), ".."),
        ("2", hostile("/etc/cron.d/evil", None), "/etc/cron.d/evil"),
        ("3", hostile("link", Some("/etc/passwd")), "link"),
        ("4", b"plain text, not an archive".to_vec(), "gzip"),
    ];
    for (label, body, reason) in cases {
        let (version, build) = add_version(api, &owner, &template, label).await;
        let r = upload(api, &owner, &template, &version, body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let built = settled(api, &owner, &build).await;
        assert_eq!(built["status"], "failed", "{label}: {built}");
        let error = built["lastError"].as_str().unwrap_or_default();
        assert!(error.to_lowercase().contains(&reason.to_lowercase()), "{label}: {error}");
        let log = api.get(&path(routes::BUILD_LOG, &[&build]), &owner.token).await;
        assert!(log.text.contains("result: failed"), "{}", log.text);
    }
    let (version, build) = add_version(api, &owner, &template, "5").await;
    let mismatched = bundle(&[("a", "b")], Some(&json!({ "image": "python:3" })));
    upload(api, &owner, &template, &version, mismatched).await;
    let built = settled(api, &owner, &build).await;
    assert!(built["lastError"].as_str().unwrap_or_default().contains("burstflare.json"), "{built}");
}

pub async fn refused_uploads_keep_the_previous_bundle(api: &Api) {
    let owner = register(api, "refuse").await;
    let template = create_template(api, &owner, "refuse").await;
    let (version, _) = add_version(api, &owner, &template, "1.0.0").await;
    let good = bundle(&[("a.txt", "good")], None);
    assert_eq!(upload(api, &owner, &template, &version, good.clone()).await.status, 200);
    let bundle_path = path(routes::BUNDLE, &[&template, &version]);

    let r = api.req("PUT", &bundle_path).token(&owner.token).raw(good.clone(), Some("text/plain")).send().await;
    assert_eq!((r.status, r.code()), (415, "unsupported_media_type"));
    let r = upload(api, &owner, &template, &version, Vec::new()).await;
    assert_eq!((r.status, r.code()), (400, "empty_body"));
    // Grants on a version with no bundle yet: the good upload above queued a build, which may
    // finish (making that version immutable) at any moment.
    let (unbuilt, _) = add_version(api, &owner, &template, "1.0.1").await;
    let grant_path = path(routes::BUNDLE_GRANT, &[&template, &unbuilt]);
    let r = api
        .post(&grant_path, Some(&owner.token), json!({ "contentType": "application/gzip", "bytes": 64 * 1024 * 1024 }))
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));
    let r = api.post(&grant_path, Some(&owner.token), json!({ "contentType": "application/gzip", "bytes": 0 })).await;
    assert_eq!(r.status, 400);
    let r = api.post(&grant_path, Some(&owner.token), json!({ "contentType": "application/gzip", "bytes": 10 })).await;
    let url = r.body["uploadGrant"]["url"].as_str().unwrap().to_string();
    let grant = url.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
    let r = api.req("PUT", &grant).raw(vec![1u8; 20], Some("application/gzip")).send().await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"), "{}", r.text);
    let r = api.req("PUT", "/api/uploads/bfu_unknown").raw(vec![1u8; 10], Some("application/gzip")).send().await;
    assert_eq!(r.status, 404);
    let r = api
        .req("PUT", &path(routes::BUNDLE, &[&template, "tplv_missing"]))
        .token(&owner.token)
        .raw(good.clone(), Some("application/gzip"))
        .send()
        .await;
    assert_eq!((r.status, r.code()), (404, "version_not_found"));

    let stored = api.get(&bundle_path, &owner.token).await;
    assert_eq!(stored.bytes, good, "refused uploads left the stored bundle as it was");
}

pub async fn templates_validate_and_count_against_the_plan(api: &Api) {
    let owner = register(api, "quota").await;
    let template = create_template(api, &owner, "Python-Dev").await;
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": "python-dev" })).await;
    assert_eq!((r.status, r.code()), (409, "template_name_taken"));
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": "../x" })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_template_name"));
    let versions = path(routes::VERSIONS, &[&template]);
    let r = api
        .post(
            &versions,
            Some(&owner.token),
            json!({ "version": "1", "manifest": { "image": "x", "persistedPaths": ["rel"] } }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_manifest"));
    assert!(r.body["error"].as_str().unwrap().contains("persistedPaths[0]"), "{}", r.text);
    add_version(api, &owner, &template, "1").await;
    let r = api.post(&versions, Some(&owner.token), json!({ "version": "1", "manifest": manifest() })).await;
    assert_eq!((r.status, r.code()), (409, "version_exists"));

    for i in 1..10 {
        create_template(api, &owner, &format!("t{i}")).await;
    }
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": "eleventh" })).await;
    assert_eq!((r.status, r.code()), (403, "template_limit"));
    let r = api.get(routes::TEMPLATES, &owner.token).await;
    assert_eq!(r.body["templates"].as_array().map(Vec::len), Some(10));

    let r = api.req("DELETE", &path(routes::TEMPLATE, &[&template])).token(&owner.token).send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["deletedVersions"], 1);
    assert_eq!(api.get(&path(routes::TEMPLATE, &[&template]), &owner.token).await.status, 404);
    create_template(api, &owner, "eleventh").await;
}
