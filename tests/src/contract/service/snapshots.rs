//! Snapshots over each backend: the latest pointer moves only when an upload completed (a wrong
//! digest, a cut-off or oversized body keeps the previous latest and stores nothing), deleting the
//! latest falls back to the previous one, grants are bound to their snapshot, content type and
//! size and spent once, the runtime's automatic save, and who may do what.

use super::sessions::promoted;
use crate::contract::harness::{expect_code, Harness};
use async_trait::async_trait;
use burstflare_core::blob::{read_to_end, ByteStream, BytesBody};
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::model::{Session, SnapshotKind};
use burstflare_core::ports::PortResult;
use burstflare_core::service::GrantUpload;
use burstflare_core::{Actor, Config, Service};
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A body whose first chunk arrives and whose connection then drops.
pub(crate) struct CutOff(Option<Vec<u8>>);

impl CutOff {
    pub(crate) fn new(first: &[u8]) -> Self {
        Self(Some(first.to_vec()))
    }
}

#[async_trait]
impl ByteStream for CutOff {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        match self.0.take() {
            Some(first) => Ok(Some(first)),
            None => Err(PortError::BodyRead("connection reset".into())),
        }
    }
}

/// An owner with a session of a promoted template.
pub(crate) async fn with_session(h: &Harness) -> anyhow::Result<(Actor, Session)> {
    let (actor, t) = promoted(h, "owner@example.com", "node-dev").await?;
    let session = h.service.create_session(&actor, "dev", &t).await?.session;
    Ok((actor, session))
}

/// The objects stored under the session's snapshots.
async fn objects(h: &Harness, session: &Session) -> anyhow::Result<Vec<String>> {
    let prefix = format!("snapshots/{}/{}/", session.workspace_id, session.id);
    Ok(h.blobs.list(&prefix).await?.unwrap_or_default())
}

async fn latest_bytes(h: &Harness, actor: &Actor, session: &Session) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(latest) = h.service.latest_snapshot(session).await? else { return Ok(None) };
    let (_, mut blob) = h.service.download_snapshot(actor, &session.id, &latest.id).await?;
    Ok(Some(read_to_end(blob.body.as_mut(), 1 << 20).await?))
}

pub async fn the_latest_snapshot_moves_only_when_an_upload_completed(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let id = &session.id;
    assert_eq!(h.service.latest_snapshot(&session).await?, None);
    let first = h.service.create_snapshot(&actor, id, Some("before lunch")).await?;
    assert_eq!(
        (first.label.as_str(), first.kind, first.content.is_none()),
        ("before lunch", SnapshotKind::Manual, true)
    );
    expect_code(h.service.download_snapshot(&actor, id, &first.id).await.map(|(s, _)| s), "snapshot_content_not_found");
    let good = b"first archive".to_vec();
    let digest = sha(&good);
    let stored = h
        .service
        .upload_snapshot(&actor, id, &first.id, "application/zstd", Some(&digest), &mut BytesBody::new(good.clone()))
        .await?;
    let content = stored.content.clone().expect("content");
    assert_eq!(
        (content.bytes, content.sha256.as_str(), content.content_type.as_str()),
        (13, digest.as_str(), "application/zstd")
    );
    assert_eq!(h.service.latest_snapshot(&session).await?.map(|s| s.id), Some(first.id.clone()));

    let second = h.service.create_snapshot(&actor, id, None).await?;
    assert_eq!(second.label, "manual");
    let upload = |body: &'static [u8], digest: Option<String>| {
        let (service, actor, id, snap) = (h.service.clone(), actor.clone(), id.clone(), second.id.clone());
        async move {
            service
                .upload_snapshot(&actor, &id, &snap, "application/zstd", digest.as_deref(), &mut BytesBody::new(body))
                .await
        }
    };
    expect_code(upload(b"second archive", Some(sha(b"something else"))).await, "digest_mismatch");
    expect_code(upload(b"second archive", Some("sha256:nothex".into())).await, "invalid_digest");
    expect_code(upload(b"", None).await, "empty_body");
    let cut =
        h.service.upload_snapshot(&actor, id, &second.id, "application/zstd", None, &mut CutOff::new(b"sec")).await;
    expect_code(cut, "invalid_body");
    let small = Service::new(h.ports.clone(), Config { snapshot_limit_bytes: 8, ..Config::default() });
    let mut body = BytesBody::new(b"second archive".to_vec());
    expect_code(small.upload_snapshot(&actor, id, &second.id, "", None, &mut body).await, "payload_too_large");
    assert_eq!(latest_bytes(h, &actor, &session).await?, Some(good.clone()), "every failure kept the previous latest");
    assert_eq!(objects(h, &session).await?, vec![content.key.clone()], "and stored nothing");
    upload(b"x", None).await?;
    assert_eq!(h.service.latest_snapshot(&session).await?.map(|s| s.id), Some(second.id.clone()));

    // Deleting the latest falls back to the newest other snapshot with content.
    h.service.delete_snapshot(&actor, id, &second.id).await?;
    assert_eq!(h.service.latest_snapshot(&session).await?.map(|s| s.id), Some(first.id.clone()));
    assert_eq!(objects(h, &session).await?, vec![content.key.clone()], "failed and deleted uploads left no object");
    expect_code(h.service.download_snapshot(&actor, id, &second.id).await.map(|(s, _)| s), "snapshot_not_found");
    let list = h.service.list_snapshots(&actor, id).await?;
    assert_eq!((list.snapshots.len(), list.latest), (1, Some(first.id.clone())));
    Ok(())
}

pub async fn snapshot_grants_are_bound_to_their_snapshot_and_spent_once(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let id = &session.id;
    let snap = h.service.create_snapshot(&actor, id, Some("granted")).await?;
    expect_code(h.service.create_snapshot_grant(&actor, id, &snap.id, "text/plain", 0).await, "invalid_bytes");
    let over = h.service.create_snapshot_grant(&actor, id, &snap.id, "text/plain", 1 << 40).await;
    expect_code(over, "payload_too_large");
    let (grant, secret) = h.service.create_snapshot_grant(&actor, id, &snap.id, "text/plain", 5).await?;
    assert_eq!(grant.bytes, Some(5));
    let put = |ct: &'static str, body: &'static [u8]| {
        let (service, secret) = (h.service.clone(), secret.expose().to_string());
        async move { service.upload_through_grant(&secret, ct, None, &mut BytesBody::new(body)).await }
    };
    expect_code(put("application/zstd", b"hello").await, "content_type_mismatch");
    expect_code(put("text/plain", b"hell").await, "size_mismatch");
    expect_code(put("text/plain", b"hello world").await, "payload_too_large");
    expect_code(
        h.service.upload_with_grant(secret.expose(), "application/gzip", &mut BytesBody::new("hello")).await,
        "upload_grant_not_found",
    );
    assert_eq!(h.service.latest_snapshot(&session).await?, None, "nothing landed");
    let GrantUpload::Snapshot(stored) = put("text/plain; charset=utf-8", b"hello").await? else {
        anyhow::bail!("a snapshot grant stores a snapshot")
    };
    assert_eq!(stored.content.as_ref().map(|c| c.sha256.clone()), Some(sha(b"hello")));
    expect_code(put("text/plain", b"hello").await, "upload_grant_not_found");

    // The runtime's automatic save: a grant with no fixed size, the latest moving when it lands.
    let (auto, secret) = h.service.begin_automatic_snapshot(&session).await?;
    assert_eq!((auto.kind, auto.created_by_user_id.clone()), (SnapshotKind::Automatic, None));
    assert_eq!(h.service.latest_snapshot(&session).await?.map(|s| s.id), Some(snap.id.clone()));
    let archive = vec![7u8; 200_000];
    let digest = sha(&archive);
    let body = &mut BytesBody::new(archive.clone());
    let landed = h.service.upload_through_grant(secret.expose(), "application/zstd", Some(&digest), body).await?;
    assert!(matches!(landed, GrantUpload::Snapshot(ref s) if s.id == auto.id));
    let latest = h.service.latest_snapshot(&session).await?.expect("a latest");
    assert_eq!((latest.id, latest.content.map(|c| c.sha256)), (auto.id.clone(), Some(digest)));
    assert_eq!(latest_bytes(h, &actor, &session).await?, Some(archive));
    Ok(())
}

/// A body whose bytes wait until the test opens the gate.
struct Gated(Option<Vec<u8>>, Option<tokio::sync::oneshot::Receiver<()>>);

#[async_trait]
impl ByteStream for Gated {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        if let Some(gate) = self.1.take() {
            let _ = gate.await;
        }
        Ok(self.0.take())
    }
}

pub async fn racing_uploads_stay_within_the_snapshot_quota(h: &Harness) -> anyhow::Result<()> {
    let (actor, session) = with_session(h).await?;
    let service = Service::new(h.ports.clone(), Config { snapshot_quota_bytes: Some(100), ..Config::default() });
    let (a, b) = (
        service.create_snapshot(&actor, &session.id, None).await?,
        service.create_snapshot(&actor, &session.id, None).await?,
    );
    let (open_a, gate_a) = tokio::sync::oneshot::channel();
    let (open_b, gate_b) = tokio::sync::oneshot::channel();
    let mut body_a = Gated(Some(vec![1; 60]), Some(gate_a));
    let mut body_b = Gated(Some(vec![2; 60]), Some(gate_b));
    let first = service.upload_snapshot(&actor, &session.id, &a.id, "", None, &mut body_a);
    let second = service.upload_snapshot(&actor, &session.id, &b.id, "", None, &mut body_b);
    let opener = async {
        tokio::task::yield_now().await;
        let _ = open_a.send(());
        let _ = open_b.send(());
    };
    let (first, second, ()) = tokio::join!(first, second, opener);
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{first:?} {second:?}");
    let loser = if first.is_ok() { second } else { first };
    expect_code(loser, "snapshot_quota");
    assert_eq!(h.ports.snapshots.stored_bytes(&session.workspace_id).await?, 60);
    assert_eq!(objects(h, &session).await?.len(), 1, "the loser's object is gone");
    // A full workspace is refused before a byte is read.
    let c = service.create_snapshot(&actor, &session.id, None).await?;
    let mut body = BytesBody::new(vec![3; 41]);
    expect_code(service.upload_snapshot(&actor, &session.id, &c.id, "", None, &mut body).await, "snapshot_quota");
    Ok(())
}

pub async fn viewers_read_snapshots_and_other_workspaces_see_none(h: &Harness) -> anyhow::Result<()> {
    let (owner, session) = with_session(h).await?;
    let id = &session.id;
    let snap = h.service.create_snapshot(&owner, id, None).await?;
    h.service.upload_snapshot(&owner, id, &snap.id, "", None, &mut BytesBody::new("state")).await?;
    let (_, viewer) = h.join(&owner, "viewer@example.com", "viewer").await?;
    assert_eq!(h.service.list_snapshots(&viewer, id).await?.snapshots.len(), 1);
    h.service.download_snapshot(&viewer, id, &snap.id).await?;
    let denied = "insufficient_permissions";
    expect_code(h.service.create_snapshot(&viewer, id, None).await, denied);
    expect_code(h.service.upload_snapshot(&viewer, id, &snap.id, "", None, &mut BytesBody::new("x")).await, denied);
    expect_code(h.service.create_snapshot_grant(&viewer, id, &snap.id, "text/plain", 1).await, denied);
    expect_code(h.service.delete_snapshot(&viewer, id, &snap.id).await, denied);
    let other = h.register("other@example.com").await?;
    let outsider = h.actor(&other).await?;
    let hidden = "session_not_found";
    expect_code(h.service.list_snapshots(&outsider, id).await, hidden);
    expect_code(h.service.download_snapshot(&outsider, id, &snap.id).await.map(|(s, _)| s), hidden);
    expect_code(h.service.create_snapshot(&outsider, id, None).await, hidden);
    expect_code(h.service.delete_snapshot(&outsider, id, &snap.id).await, hidden);
    expect_code(h.service.list_snapshots(&owner, &SessionId::from_raw("ses_unknown")).await, hidden);
    Ok(())
}
