//! Snapshots larger than one part of an R2 multipart upload (5 MiB), which the Worker streams
//! part by part: a 12 MiB snapshot comes back byte for byte with its digest; one that goes past
//! its grant's size and one cut off after more than a part are refused, get no content, and
//! keep the previous latest; and a grant past the deployment's snapshot limit is refused (the
//! Worker's `SNAPSHOT_LIMIT_MIB`). The same scenarios run against the native server's files.

use super::snapshots::{create, latest, put, session, sha};
use crate::http::fixtures::register;
use crate::http::{raw, Api};
use burstflare_api::routes::{self, path};
use burstflare_api::CONTENT_SHA256_HEADER;
use serde_json::json;

const MIB: usize = 1 << 20;

/// `len` bytes that do not compress (an archive's), different per `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub async fn a_snapshot_of_several_parts_comes_back_byte_for_byte(api: &Api) {
    let owner = register(api, "snap-large").await;
    let id = session(api, &owner, "large-env").await;
    let snapshot = create(api, &owner, &id, "large").await;
    let body = noise(12 * MIB + 12_345, 1);
    let digest = sha(&body);
    let r = put(api, &owner, &id, &snapshot, &body, Some(&digest)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["snapshot"]["bytes"].as_u64(), Some(body.len() as u64), "{}", r.text);
    assert_eq!(r.body["snapshot"]["sha256"].as_str(), Some(digest.as_str()), "{}", r.text);
    assert_eq!(latest(api, &owner, &id).await.as_deref(), Some(snapshot.as_str()));

    let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &snapshot]), &owner.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header(CONTENT_SHA256_HEADER), Some(digest.as_str()));
    assert_eq!(r.bytes.len(), body.len());
    assert!(r.bytes == body, "the downloaded snapshot differs from the uploaded one");
    let r = api.get(routes::USAGE, &owner.token).await;
    assert_eq!(r.body["usage"]["snapshotBytes"].as_u64(), Some(body.len() as u64), "{}", r.text);
}

pub async fn large_uploads_past_their_size_or_cut_off_store_nothing(api: &Api) {
    let owner = register(api, "snap-large-bad").await;
    let id = session(api, &owner, "large-bad-env").await;
    let good = create(api, &owner, &id, "good").await;
    let kept = noise(6 * MIB, 2);
    assert_eq!(put(api, &owner, &id, &good, &kept, Some(&sha(&kept))).await.status, 200);

    // A grant for 6 MiB, 12 MiB announced through it, and one byte past the 6 MiB sent: refused
    // once the 6 MiB are past, after a whole part was stored.
    let over = create(api, &owner, &id, "over").await;
    let grant = path(routes::SNAPSHOT_GRANT, &[&id, &over]);
    let r = api.post(&grant, Some(&owner.token), json!({ "contentType": "application/zstd", "bytes": 6 * MIB })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.body["uploadGrant"]["url"].as_str().expect("url").to_string();
    let upload = &url[url.find("/api/uploads/").expect("an upload url")..];
    let answer = raw::put(api, upload, None, "application/zstd", 12 * MIB, noise(6 * MIB + 1, 3), raw::End::Wait).await;
    assert!(answer.contains(" 413 "), "an upload past its grant's size is refused: {answer:?}");

    // 12 MiB announced, 7 MiB sent, then the connection closed.
    let cut = create(api, &owner, &id, "cut").await;
    let content = path(routes::SNAPSHOT_CONTENT, &[&id, &cut]);
    let answer =
        raw::put(api, &content, Some(&owner.token), "application/zstd", 12 * MIB, noise(7 * MIB, 4), raw::End::Close)
            .await;
    assert!(!answer.contains(" 200 "), "a cut-off body is not stored: {answer:?}");

    assert_eq!(latest(api, &owner, &id).await.as_deref(), Some(good.as_str()), "the previous latest stays");
    for refused in [&over, &cut] {
        let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, refused]), &owner.token).await;
        assert_eq!((r.status, r.code()), (404, "snapshot_content_not_found"), "{}", r.text);
    }
    let r = api.get(&path(routes::SNAPSHOT_CONTENT, &[&id, &good]), &owner.token).await;
    assert!(r.status == 200 && r.bytes == kept, "the previous snapshot is intact ({})", r.status);
    let r = api.get(routes::USAGE, &owner.token).await;
    assert_eq!(r.body["usage"]["snapshotBytes"].as_u64(), Some(kept.len() as u64), "{}", r.text);
}

/// The snapshot limit the deployment under test was started with, in MiB:
/// `BURSTFLARE_TEST_SNAPSHOT_LIMIT_MIB` (scripts/test-worker sets the Worker's
/// `SNAPSHOT_LIMIT_MIB` and this together), or the default, 512.
fn limit_under_test() -> u64 {
    let mib = std::env::var("BURSTFLARE_TEST_SNAPSHOT_LIMIT_MIB").ok().and_then(|v| v.parse::<u64>().ok());
    mib.unwrap_or(512) << 20
}

pub async fn grants_past_the_deployments_snapshot_limit_are_refused(api: &Api) {
    let limit = limit_under_test();
    let owner = register(api, "snap-limit").await;
    let id = session(api, &owner, "limit-env").await;
    let snapshot = create(api, &owner, &id, "limit").await;
    let grant = path(routes::SNAPSHOT_GRANT, &[&id, &snapshot]);
    let r =
        api.post(&grant, Some(&owner.token), json!({ "contentType": "application/zstd", "bytes": limit + 1 })).await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"), "{}", r.text);
    assert!(r.text.contains(&limit.to_string()), "the message names the limit: {}", r.text);
    let r = api.post(&grant, Some(&owner.token), json!({ "contentType": "application/zstd", "bytes": limit })).await;
    assert_eq!(r.status, 200, "a grant of exactly the limit is fine: {}", r.text);
}
