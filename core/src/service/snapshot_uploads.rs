//! Snapshot content: streamed uploads (directly with a token, or through a one-time grant bound to
//! the snapshot, its content type and size), and the one guarded batch that records the content,
//! counts the workspace's snapshot bytes against its quota, spends the grant and moves the
//! session's latest pointer. The body goes to a fresh object key with the size limit enforced and
//! its SHA-256 computed while it streams; a failed, cut-off, oversized or mismatching upload, or
//! a batch that loses, deletes its own object and leaves the previous content and latest in place.

use super::snapshots::snapshot_not_found;
use super::uploads::{grant_not_found, CheckedBody, EMPTY, MISMATCH};
use super::{Actor, Service};
use crate::blob::{ByteStream, HashingBody};
use crate::error::{Code, Error, ErrorKind, PortError, Result};
use crate::ids::{SessionId, SnapshotId, UsageId, UserId};
use crate::model::{Build, GrantTarget, Session, Snapshot, SnapshotContent, TemplateVersion, UploadGrant, UsageEvent};
use crate::secret::Secret;
use crate::store::{Batch, Counted, Write};
use crate::values::{Role, SessionState};
use serde_json::json;

/// The content type of the runtime's archives (tar, compressed with zstd).
pub const ARCHIVE_CONTENT_TYPE: &str = "application/zstd";

/// What an upload through a grant stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantUpload {
    /// A version's bundle, with its re-queued build.
    Bundle { version: TemplateVersion, build: Box<Build> },
    /// A snapshot's content (now the session's latest).
    Snapshot(Snapshot),
}

/// The essence of a content type (`type/subtype`, lower-cased); empty means octet-stream.
fn snapshot_content_type(raw: &str) -> Result<String> {
    let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence.is_empty() {
        return Ok("application/octet-stream".to_string());
    }
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) && essence.len() <= 127 => Ok(essence),
        _ => Err(Error::new(Code::UnsupportedMediaType, "The content type is not a valid media type")),
    }
}

/// `sha256:<hex>` from `sha256:<hex>` or `<hex>` (64 hex digits, any case).
pub fn parse_digest(raw: &str) -> Result<String> {
    let hex = raw.trim().strip_prefix("sha256:").unwrap_or(raw.trim()).to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::new(Code::InvalidDigest, "A digest is sha256: followed by 64 hex digits"));
    }
    Ok(format!("sha256:{hex}"))
}

fn too_large(limit: u64) -> Error {
    Error::new(Code::PayloadTooLarge, format!("Snapshots are limited to {limit} bytes"))
}

/// Who uploads: the person (if any) and the grant (if any).
type Uploader<'a> = (Option<&'a UserId>, Option<&'a UploadGrant>);

impl Service {
    /// The snapshot bytes the session's workspace may keep.
    async fn snapshot_quota(&self, session: &Session) -> Result<u64> {
        if let Some(quota) = self.config.snapshot_quota_bytes {
            return Ok(quota);
        }
        Ok(self.workspace(&session.workspace_id).await?.plan.limits().max_snapshot_bytes)
    }

    /// Uploads a snapshot's content with the caller's token; `expected_sha256`, when given, must
    /// be the body's digest.
    pub async fn upload_snapshot(
        &self,
        actor: &Actor,
        session_id: &SessionId,
        snapshot_id: &SnapshotId,
        content_type: &str,
        expected_sha256: Option<&str>,
        body: &mut dyn ByteStream,
    ) -> Result<Snapshot> {
        actor.require(Role::Member)?;
        let session = self.session(actor, session_id).await?;
        let snapshot = self.snapshot_of(&session, snapshot_id).await?;
        let content_type = snapshot_content_type(content_type)?;
        let expected = expected_sha256.map(parse_digest).transpose()?;
        let mut body = CheckedBody::new(body, None);
        let limit = self.config.snapshot_limit_bytes;
        let uploader = (Some(&actor.user.id), None);
        self.store_snapshot(&session, snapshot, &content_type, expected, &mut body, limit, uploader).await
    }

    /// Grants a one-time upload of exactly `bytes` bytes of `content_type` for the snapshot.
    pub async fn create_snapshot_grant(
        &self,
        actor: &Actor,
        session_id: &SessionId,
        snapshot_id: &SnapshotId,
        content_type: &str,
        bytes: u64,
    ) -> Result<(UploadGrant, Secret)> {
        actor.require(Role::Member)?;
        let session = self.session(actor, session_id).await?;
        let snapshot = self.snapshot_of(&session, snapshot_id).await?;
        let content_type = snapshot_content_type(content_type)?;
        if bytes == 0 {
            return Err(Error::new(Code::InvalidBytes, "bytes must be a positive integer"));
        }
        self.grant_snapshot_upload(&session, &snapshot, &content_type, Some(bytes), Some(&actor.user.id)).await
    }

    pub(crate) async fn grant_snapshot_upload(
        &self,
        session: &Session,
        snapshot: &Snapshot,
        content_type: &str,
        bytes: Option<u64>,
        actor: Option<&UserId>,
    ) -> Result<(UploadGrant, Secret)> {
        if session.state == SessionState::Deleted {
            return Err(Error::new(Code::SessionDeleted, "Session deleted"));
        }
        if bytes.is_some_and(|b| b > self.config.snapshot_limit_bytes) {
            return Err(too_large(self.config.snapshot_limit_bytes));
        }
        let target = GrantTarget::Snapshot { session_id: session.id.clone(), snapshot_id: snapshot.id.clone() };
        let (grant, secret) = self.new_grant(&session.workspace_id, target, content_type, bytes, actor);
        let details = json!({ "contentType": content_type, "bytes": bytes, "uploadGrantId": grant.id.as_str() });
        let mut batch = Batch::new();
        batch.push(Write::CreateGrant(grant.clone())).push(self.audit(
            "snapshot.upload_grant_created",
            actor,
            Some(&session.workspace_id),
            ("snapshot", snapshot.id.as_str()),
            details,
        ));
        match self.commit(batch).await {
            Err(e) if e.kind() == ErrorKind::Conflict => Err(snapshot_not_found()),
            other => other.map(|()| (grant, secret)),
        }
    }

    /// Uploads through a grant, whatever it is for (a bundle or a snapshot). The body must match
    /// the grant's content type and, when the grant has one, its size exactly; the grant is spent
    /// by the batch that records the upload, so a failed upload leaves it usable until it expires.
    pub async fn upload_through_grant(
        &self,
        secret: &str,
        content_type: &str,
        expected_sha256: Option<&str>,
        body: &mut dyn ByteStream,
    ) -> Result<GrantUpload> {
        let grant = self.live_grant(secret).await?;
        let GrantTarget::Snapshot { session_id, snapshot_id } = &grant.target else {
            let (version, build) = self.bundle_through_grant(grant, content_type, body).await?;
            return Ok(GrantUpload::Bundle { version, build: Box::new(build) });
        };
        let content_type = snapshot_content_type(content_type)?;
        if content_type != grant.content_type {
            return Err(Error::new(Code::ContentTypeMismatch, format!("This grant is for {}", grant.content_type)));
        }
        let expected = expected_sha256.map(parse_digest).transpose()?;
        let session = self.ports.sessions.get(&grant.workspace_id, session_id).await?;
        let session = session.ok_or_else(grant_not_found)?;
        let snapshot = self.snapshot_of(&session, snapshot_id).await?;
        let mut body = CheckedBody::new(body, grant.bytes);
        let limit = grant.bytes.unwrap_or(self.config.snapshot_limit_bytes);
        let uploader = (grant.created_by_user_id.as_ref(), Some(&grant));
        let stored = self.store_snapshot(&session, snapshot, &content_type, expected, &mut body, limit, uploader);
        Ok(GrantUpload::Snapshot(stored.await?))
    }

    /// Streams the body to a fresh key, checks its digest, then records it as the snapshot's
    /// content and the session's latest in one guarded batch (see the module's documentation).
    #[allow(clippy::too_many_arguments)]
    async fn store_snapshot(
        &self,
        session: &Session,
        current: Snapshot,
        content_type: &str,
        expected: Option<String>,
        body: &mut dyn ByteStream,
        limit: u64,
        (uploader, grant): Uploader<'_>,
    ) -> Result<Snapshot> {
        if session.state == SessionState::Deleted {
            return Err(Error::new(Code::SessionDeleted, "Session deleted"));
        }
        let quota = self.snapshot_quota(session).await?;
        let stored = self.ports.snapshots.stored_bytes(&session.workspace_id).await?;
        // Replacing content frees what the snapshot held.
        let others = stored.saturating_sub(current.stored_bytes());
        if others >= quota {
            return Err(quota_error(quota));
        }
        let started = self.now();
        let key = format!(
            "snapshots/{}/{}/{}/{}-{}.bin",
            session.workspace_id,
            session.id,
            current.id,
            started.millis(),
            self.ports.random.uuid().simple()
        );
        let mut hashing = HashingBody::new(body);
        let info = self.ports.blobs.put(&key, content_type, &mut hashing, limit).await.map_err(|e| match e {
            PortError::Other(m) if m == EMPTY => Error::new(Code::EmptyBody, "The snapshot is empty"),
            PortError::Other(m) if m.starts_with(MISMATCH) => {
                Error::new(Code::SizeMismatch, format!("The body does not match the grant's size ({m})"))
            }
            PortError::TooLarge { limit } => too_large(limit),
            other => other.into(),
        })?;
        let sha256 = hashing.digest();
        if expected.as_ref().is_some_and(|e| e != &sha256) {
            self.discard_object(&key).await;
            return Err(Error::new(
                Code::DigestMismatch,
                "The body's SHA-256 is not the expected one; nothing was stored",
            ));
        }
        // Deleted while the content streamed (a save racing a delete): the delete wins, and the
        // object goes; a delete that lands after this read leaves content that the session's
        // purge removes with it.
        let current_session = self.ports.sessions.get(&session.workspace_id, &session.id).await?;
        if current_session.is_none_or(|s| s.state == SessionState::Deleted) {
            self.discard_object(&key).await;
            return Err(Error::new(Code::SessionDeleted, "Session deleted while its snapshot was uploading"));
        }
        let now = self.now();
        let content = SnapshotContent {
            key: key.clone(),
            content_type: content_type.to_string(),
            bytes: info.size,
            sha256: sha256.clone(),
            uploaded_at: now,
        };
        let updated = Snapshot { content: Some(content), version: current.version + 1, ..current.clone() };
        let mut details = json!({ "contentType": content_type, "bytes": info.size, "sha256": sha256 });
        let mut batch = Batch::new();
        if let Some(grant) = grant {
            details["uploadGrantId"] = json!(grant.id.as_str());
            let used = UploadGrant { used_at: Some(now), version: grant.version + 1, ..grant.clone() };
            batch.push(Write::UpdateGrant { grant: used, expected_version: grant.version });
        }
        batch
            .push(Write::UpdateSnapshot { snapshot: updated.clone(), expected_version: current.version })
            .push(Write::AtMost { counted: Counted::SnapshotBytes(session.workspace_id.clone()), max: quota })
            .push(Write::MarkLatestSnapshot { session_id: session.id.clone(), snapshot_id: current.id.clone() })
            .push(Write::Usage(UsageEvent {
                id: UsageId::from_uuid(self.ports.random.uuid()),
                workspace_id: session.workspace_id.clone(),
                kind: super::SNAPSHOT_BYTES.into(),
                value: i64::try_from(info.size).unwrap_or(i64::MAX),
                details: json!({ "sessionId": session.id.as_str(), "snapshotId": current.id.as_str() }),
                created_at: now,
            }))
            .push(self.audit(
                "snapshot.content_uploaded",
                uploader,
                Some(&session.workspace_id),
                ("snapshot", current.id.as_str()),
                details,
            ));
        if let Err(e) = self.commit(batch).await {
            self.discard_object(&key).await;
            return Err(if e.kind() == ErrorKind::Conflict {
                self.snapshot_conflict(session, &current, grant, quota).await
            } else {
                e
            });
        }
        if let Some(old) = current.content.as_ref().filter(|old| old.key != key) {
            self.discard_object(&old.key).await;
        }
        Ok(updated)
    }

    /// Why a snapshot upload's batch lost, as the client should hear it: nothing was stored.
    async fn snapshot_conflict(
        &self,
        session: &Session,
        current: &Snapshot,
        grant: Option<&UploadGrant>,
        quota: u64,
    ) -> Error {
        if let Some(grant) = grant {
            let stored = self.ports.grants.find_by_secret(&grant.secret_hash).await;
            if matches!(stored, Ok(Some(g)) if g.used_at.is_some()) {
                return grant_not_found();
            }
        }
        match self.ports.snapshots.get(&session.id, &current.id).await {
            Ok(None) => return snapshot_not_found(),
            // Unchanged, the grant unspent: the quota guard is what refused it.
            Ok(Some(now)) if now.version == current.version => return quota_error(quota),
            _ => {}
        }
        Error::new(Code::SnapshotChanged, "The snapshot changed while its content was uploading; nothing was stored")
    }
}

fn quota_error(quota: u64) -> Error {
    Error::new(Code::SnapshotQuota, format!("The workspace's snapshots may hold at most {quota} bytes"))
}
