//! Snapshots over HTTP: create, upload (direct with a digest, and through a grant), list with the
//! latest, download, delete with the latest falling back, usage; refusals (wrong digest, viewers,
//! other workspaces); and an upload cut off mid-body, which keeps the previous latest.

use super::sessions::promoted;
use crate::http::fixtures::{join, register, Account};
use crate::http::{raw, Api, Resp};
use burstflare_api::routes::{self, path};
use burstflare_api::CONTENT_SHA256_HEADER;
use serde_json::json;
use sha2::{Digest, Sha256};

pub(super) fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An owner with a session; returns its id.
pub(super) async fn session(api: &Api, owner: &Account, name: &str) -> String {
    let template = promoted(api, owner, name).await;
    let r = api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": name, "templateId": template })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session"]["id"].as_str().expect("id").to_string()
}

pub(super) async fn create(api: &Api, owner: &Account, session: &str, label: &str) -> String {
    let r = api.post(&path(routes::SNAPSHOTS, &[session]), Some(&owner.token), json!({ "label": label })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["snapshot"]["bytes"].as_u64(), r.body["snapshot"]["uploadedAt"].is_null()), (Some(0), true));
    r.body["snapshot"]["id"].as_str().expect("id").to_string()
}

pub(super) async fn put(
    api: &Api,
    owner: &Account,
    session: &str,
    snapshot: &str,
    body: &[u8],
    digest: Option<&str>,
) -> Resp {
    let mut req = api.req("PUT", &path(routes::SNAPSHOT_CONTENT, &[session, snapshot])).token(&owner.token);
    if let Some(digest) = digest {
        req = req.header(CONTENT_SHA256_HEADER, digest);
    }
    req.raw(body.to_vec(), Some("application/zstd")).send().await
}

pub(super) async fn latest(api: &Api, owner: &Account, session: &str) -> Option<String> {
    let r = api.get(&path(routes::SNAPSHOTS, &[session]), &owner.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["latestSnapshotId"].as_str().map(str::to_owned)
}

pub async fn snapshots_are_saved_listed_downloaded_and_deleted(api: &Api) {
    let owner = register(api, "snapshots").await;
    let id = session(api, &owner, "snap-env").await;
    let first = create(api, &owner, &id, "manual-save").await;
    let r = put(api, &owner, &id, &first, b"workspace-state", Some(&sha(b"workspace-state"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["snapshot"]["latest"].as_bool(), r.body["snapshot"]["bytes"].as_u64()), (Some(true), Some(15)));
    let r = put(api, &owner, &id, &first, b"other-state", Some(&sha(b"not it"))).await;
    assert_eq!((r.status, r.code()), (400, "digest_mismatch"), "{}", r.text);
    let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &first]), &owner.token).await;
    assert_eq!((r.status, r.bytes.as_slice()), (200, b"workspace-state".as_slice()), "refused uploads kept it");
    assert_eq!(r.header(CONTENT_SHA256_HEADER), Some(sha(b"workspace-state").as_str()));

    let second = create(api, &owner, &id, "autosave").await;
    let grant = path(routes::SNAPSHOT_GRANT, &[&id, &second]);
    let r = api.post(&grant, Some(&owner.token), json!({ "contentType": "text/plain", "bytes": 16 })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.body["uploadGrant"]["url"].as_str().expect("url").to_string();
    let upload = &url[url.find("/api/uploads/").expect("an upload url")..];
    let r = api.req("PUT", upload).raw(b"snapshot payload".to_vec(), Some("text/plain")).send().await;
    assert_eq!((r.status, r.body["target"].as_str()), (200, Some("snapshot")), "{}", r.text);
    let r = api.req("PUT", upload).raw(b"snapshot payload".to_vec(), Some("text/plain")).send().await;
    assert_eq!((r.status, r.code()), (404, "upload_grant_not_found"), "a grant is spent once");
    assert_eq!(latest(api, &owner, &id).await.as_deref(), Some(second.as_str()));

    let r = api.get(&path(routes::SESSION, &[&id]), &owner.token).await;
    assert_eq!(r.body["snapshots"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = api.get(routes::USAGE, &owner.token).await;
    assert_eq!(r.body["usage"]["snapshotBytes"].as_u64(), Some(31), "{}", r.text);

    let (viewer, outsider) =
        (join(api, &owner, &register(api, "snap-viewer").await, "viewer").await, register(api, "snap-out").await);
    assert_eq!(api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &second]), &viewer.token).await.status, 200);
    let r = api.post(&path(routes::SNAPSHOTS, &[&id]), Some(&viewer.token), json!({})).await;
    assert_eq!((r.status, r.code()), (403, "insufficient_permissions"));
    let r = api.get(&path(routes::SNAPSHOTS, &[&id]), &outsider.token).await;
    assert_eq!((r.status, r.code()), (404, "session_not_found"));

    let snapshot = path(routes::SNAPSHOT, &[&id, &second]);
    let r = api.req("DELETE", &snapshot).token(&owner.token).send().await;
    assert_eq!((r.status, r.body["ok"].as_bool()), (200, Some(true)), "{}", r.text);
    assert_eq!(latest(api, &owner, &id).await.as_deref(), Some(first.as_str()), "the latest fell back");
    let r = api.req("DELETE", &snapshot).token(&owner.token).send().await;
    assert_eq!((r.status, r.code()), (404, "snapshot_not_found"));
}

pub async fn a_cut_off_snapshot_upload_keeps_the_previous_latest(api: &Api) {
    let owner = register(api, "snap-cut").await;
    let id = session(api, &owner, "cut-env").await;
    let first = create(api, &owner, &id, "good").await;
    assert_eq!(put(api, &owner, &id, &first, b"good state", None).await.status, 200);
    let second = create(api, &owner, &id, "cut").await;
    // Announce 1 MiB, send 4 KiB, then close the connection.
    let content = path(routes::SNAPSHOT_CONTENT, &[&id, &second]);
    let answer =
        raw::put(api, &content, Some(&owner.token), "application/zstd", 1 << 20, vec![7u8; 4096], raw::End::Close)
            .await;
    assert!(!answer.contains(" 200 "), "a cut-off body is not stored: {answer}");
    assert_eq!(latest(api, &owner, &id).await.as_deref(), Some(first.as_str()));
    let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &second]), &owner.token).await;
    assert_eq!((r.status, r.code()), (404, "snapshot_content_not_found"), "{}", r.text);
    let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &first]), &owner.token).await;
    assert_eq!(r.bytes, b"good state");
}
