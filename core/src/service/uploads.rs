//! Bundles: streamed uploads (directly with a token, or through a one-time grant bound to one
//! version, content type and exact size), downloads, and the re-queueing of the version's build.
//! Bodies are streamed to the blob store with the size limit enforced while reading.

use super::templates::version_not_found;
use super::{Actor, Service};
use crate::blob::{Blob, ByteStream};
use crate::error::{Code, Error, ErrorKind, PortError, Result};
use crate::ids::{GrantId, TemplateId, VersionId};
use crate::machines::builds::{self, BuildEvent};
use crate::model::{Build, BundleInfo, GrantTarget, Template, TemplateVersion, UploadGrant};
use crate::ports::{Job, PortResult};
use crate::secret::{Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::values::Role;
use async_trait::async_trait;
use serde_json::json;

/// Prefix of upload-grant secrets.
pub const GRANT_PREFIX: &str = "bfu";

/// Content types a tar.gz bundle may be sent as.
pub const BUNDLE_CONTENT_TYPES: &[&str] =
    &["application/gzip", "application/x-gzip", "application/x-compressed-tar", "application/octet-stream"];

fn check_content_type(content_type: &str) -> Result<String> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if BUNDLE_CONTENT_TYPES.contains(&essence.as_str()) {
        Ok(essence)
    } else {
        Err(Error::new(
            Code::UnsupportedMediaType,
            format!("Bundles are tar.gz archives: send one of {}", BUNDLE_CONTENT_TYPES.join(", ")),
        ))
    }
}

/// Passes a body through, failing at its end if it was empty or (for grants) not exactly the
/// expected size, so the blob store keeps the previous object instead of a bad one.
pub(crate) struct CheckedBody<'a> {
    inner: &'a mut dyn ByteStream,
    expected: Option<u64>,
    seen: u64,
}

impl<'a> CheckedBody<'a> {
    pub(crate) fn new(inner: &'a mut dyn ByteStream, expected: Option<u64>) -> Self {
        Self { inner, expected, seen: 0 }
    }
}

pub(crate) const EMPTY: &str = "empty_body";
pub(crate) const MISMATCH: &str = "size_mismatch";

#[async_trait]
impl ByteStream for CheckedBody<'_> {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        let chunk = self.inner.next_chunk().await?;
        match (&chunk, self.expected) {
            (Some(bytes), _) => self.seen += bytes.len() as u64,
            (None, _) if self.seen == 0 => return Err(PortError::Other(EMPTY.to_string())),
            (None, Some(expected)) if self.seen != expected => {
                return Err(PortError::Other(format!("{MISMATCH}: {} of {expected} bytes", self.seen)))
            }
            (None, _) => {}
        }
        Ok(chunk)
    }
}

impl Service {
    /// Uploads a version's bundle with the caller's token.
    pub async fn upload_bundle(
        &self,
        actor: &Actor,
        template_id: &TemplateId,
        version_id: &VersionId,
        content_type: &str,
        body: &mut dyn ByteStream,
    ) -> Result<(TemplateVersion, Build)> {
        actor.require(Role::Member)?;
        let (template, version) = self.template_version(actor, template_id, version_id).await?;
        let content_type = check_content_type(content_type)?;
        let limit = self.config.bundle_limit_bytes;
        let mut body = CheckedBody::new(body, None);
        self.store_bundle(&template, version, &content_type, &mut body, limit, (Some(&actor.user.id), None)).await
    }

    /// Grants a one-time upload of exactly `bytes` bytes of `content_type` for the version.
    pub async fn create_upload_grant(
        &self,
        actor: &Actor,
        template_id: &TemplateId,
        version_id: &VersionId,
        content_type: &str,
        bytes: u64,
    ) -> Result<(UploadGrant, Secret)> {
        actor.require(Role::Member)?;
        let (template, version) = self.template_version(actor, template_id, version_id).await?;
        let content_type = check_content_type(content_type)?;
        if bytes == 0 {
            return Err(Error::new(Code::InvalidBytes, "bytes must be a positive integer"));
        }
        if bytes > self.config.bundle_limit_bytes {
            let limit = self.config.bundle_limit_bytes;
            return Err(Error::new(Code::PayloadTooLarge, format!("Bundles are limited to {limit} bytes")));
        }
        let target = GrantTarget::Bundle { template_id: template.id.clone(), version_id: version.id.clone() };
        let (grant, secret) =
            self.new_grant(&template.workspace_id, target, &content_type, Some(bytes), Some(&actor.user.id));
        let details = json!({ "contentType": content_type, "bytes": bytes, "uploadGrantId": grant.id.as_str() });
        let mut batch = Batch::new();
        batch.push(Write::CreateGrant(grant.clone())).push(self.audit(
            "template.bundle_upload_grant_created",
            Some(&actor.user.id),
            Some(&actor.workspace_id),
            ("template_version", version.id.as_str()),
            details,
        ));
        self.commit(batch).await?;
        Ok((grant, secret))
    }

    /// A fresh one-time grant (not yet stored) and its secret, good for the configured lifetime.
    pub(crate) fn new_grant(
        &self,
        workspace: &crate::ids::WorkspaceId,
        target: GrantTarget,
        content_type: &str,
        bytes: Option<u64>,
        actor: Option<&crate::ids::UserId>,
    ) -> (UploadGrant, crate::secret::Secret) {
        let secret = self.secret(GRANT_PREFIX);
        let now = self.now();
        let grant = UploadGrant {
            id: GrantId::from_uuid(self.ports.random.uuid()),
            secret_hash: secret.hash(),
            workspace_id: workspace.clone(),
            target,
            content_type: content_type.to_string(),
            bytes,
            created_by_user_id: actor.cloned(),
            created_at: now,
            expires_at: now.plus_seconds(self.config.upload_grant_ttl_seconds),
            used_at: None,
            version: 1,
        };
        (grant, secret)
    }

    /// Uploads through a grant. The body must match the grant's content type and size exactly; the
    /// grant is spent by the same batch that records the bundle, so it is used once, and a failed
    /// upload (cut off, too short, too long) leaves it usable for another try until it expires.
    pub async fn upload_with_grant(
        &self,
        secret: &str,
        content_type: &str,
        body: &mut dyn ByteStream,
    ) -> Result<(TemplateVersion, Build)> {
        let grant = self.live_grant(secret).await?;
        self.bundle_through_grant(grant, content_type, body).await
    }

    /// The unused, unexpired grant this secret is for, or 404.
    pub(crate) async fn live_grant(&self, secret: &str) -> Result<UploadGrant> {
        if !secret.starts_with(&format!("{GRANT_PREFIX}_")) {
            return Err(grant_not_found());
        }
        let grant = self.ports.grants.find_by_secret(&SecretHash::of(secret)).await?.ok_or_else(grant_not_found)?;
        if grant.used_at.is_some() || !grant.expires_at.is_after(self.now()) {
            return Err(grant_not_found());
        }
        Ok(grant)
    }

    /// A bundle upload through a live grant (see [`upload_with_grant`](Self::upload_with_grant)).
    pub(crate) async fn bundle_through_grant(
        &self,
        grant: UploadGrant,
        content_type: &str,
        body: &mut dyn ByteStream,
    ) -> Result<(TemplateVersion, Build)> {
        let GrantTarget::Bundle { template_id, version_id } = &grant.target else {
            return Err(grant_not_found());
        };
        let content_type = check_content_type(content_type)?;
        if content_type != grant.content_type {
            return Err(Error::new(Code::ContentTypeMismatch, format!("This grant is for {}", grant.content_type)));
        }
        let template = self.ports.templates.get(&grant.workspace_id, template_id).await?;
        let template = template.ok_or_else(grant_not_found)?;
        let version = self.ports.templates.get_version(template_id, version_id).await?;
        let version = version.ok_or_else(version_not_found)?;
        let mut body = CheckedBody::new(body, grant.bytes);
        let limit = grant.bytes.unwrap_or(self.config.bundle_limit_bytes);
        let uploader = (grant.created_by_user_id.as_ref(), Some(&grant));
        self.store_bundle(&template, version, &content_type, &mut body, limit, uploader).await
    }

    /// The version's bundle, streamed.
    pub async fn download_bundle(
        &self,
        actor: &Actor,
        template_id: &TemplateId,
        version_id: &VersionId,
    ) -> Result<(TemplateVersion, Blob)> {
        let (_, version) = self.template_version(actor, template_id, version_id).await?;
        let missing = || Error::new(Code::BundleNotFound, "No bundle has been uploaded for this version");
        let key = version.bundle.as_ref().map(|b| b.key.clone()).ok_or_else(missing)?;
        let blob = self.ports.blobs.get(&key).await?.ok_or_else(missing)?;
        Ok((version, blob))
    }

    /// Streams the body to a fresh key, then points the version at it and re-queues its build in one
    /// guarded batch. Blob writes never change what a committed row points to: if the batch loses
    /// (the version or its build changed meanwhile, or the grant was used), the new object is
    /// deleted and the stored bundle stays as it was; if it wins, the replaced object is deleted.
    async fn store_bundle(
        &self,
        template: &Template,
        current: TemplateVersion,
        content_type: &str,
        body: &mut dyn ByteStream,
        limit: u64,
        (uploader, grant): (Option<&crate::ids::UserId>, Option<&UploadGrant>),
    ) -> Result<(TemplateVersion, Build)> {
        let build = self.ports.builds.for_version(&current.id).await?;
        let build = build.ok_or_else(|| Error::internal(format!("version {} has no build", current.id)))?;
        // Refused before a byte is stored when the version is already built.
        builds::apply(&build, &current, BuildEvent::BundleUploaded, self.now())?;
        let key = format!(
            "templates/{}/{}/{}/bundle-{}.bin",
            template.workspace_id,
            template.id,
            current.id,
            self.ports.random.uuid().simple()
        );
        let info = self.ports.blobs.put(&key, content_type, body, limit).await.map_err(|e| match e {
            PortError::Other(m) if m == EMPTY => Error::new(Code::EmptyBody, "The bundle is empty"),
            PortError::Other(m) if m.starts_with(MISMATCH) => {
                Error::new(Code::SizeMismatch, format!("The body does not match the grant's size ({m})"))
            }
            PortError::TooLarge { limit } => {
                Error::new(Code::PayloadTooLarge, format!("Bundles are limited to {limit} bytes"))
            }
            other => other.into(),
        })?;
        let now = self.now();
        let (requeued, mut version) = builds::apply(&build, &current, BuildEvent::BundleUploaded, now)?;
        let bundle =
            BundleInfo { key: key.clone(), content_type: content_type.into(), bytes: info.size, uploaded_at: now };
        version.bundle = Some(bundle);
        let mut details = json!({ "contentType": content_type, "bytes": info.size });
        let mut batch = Batch::new();
        if let Some(grant) = grant {
            details["uploadGrantId"] = json!(grant.id.as_str());
            let used = UploadGrant { used_at: Some(now), version: grant.version + 1, ..grant.clone() };
            batch.push(Write::UpdateGrant { grant: used, expected_version: grant.version });
        }
        batch
            .push(Write::UpdateVersion { version: version.clone(), expected_version: current.version })
            .push(Write::UpdateBuild { build: requeued.clone(), expected_version: build.version })
            .push(self.job(Job::Build { build_id: requeued.id.clone() }, 0))
            .push(self.audit(
                "template.bundle_uploaded",
                uploader,
                Some(&template.workspace_id),
                ("template_version", version.id.as_str()),
                details,
            ));
        if let Err(e) = self.commit(batch).await {
            // The object was never pointed at: it goes, whatever happened to the batch.
            self.discard_object(&key).await;
            return Err(if e.kind() == ErrorKind::Conflict { self.upload_conflict(&current, grant).await } else { e });
        }
        if let Some(old) = current.bundle.as_ref().filter(|old| old.key != key) {
            self.discard_object(&old.key).await;
        }
        Ok((version, requeued))
    }

    /// Why an upload's batch lost, as the client should hear it: nothing was stored either way.
    async fn upload_conflict(&self, version: &TemplateVersion, grant: Option<&UploadGrant>) -> Error {
        if let Some(grant) = grant {
            let stored = self.ports.grants.find_by_secret(&grant.secret_hash).await;
            if matches!(stored, Ok(Some(g)) if g.used_at.is_some()) {
                return grant_not_found();
            }
        }
        let now = self.ports.templates.get_version(&version.template_id, &version.id).await;
        let build = self.ports.builds.for_version(&version.id).await;
        if let (Ok(Some(v)), Ok(Some(b))) = (now, build) {
            if let Err(immutable) = builds::apply(&b, &v, BuildEvent::BundleUploaded, self.now()) {
                return immutable;
            }
        }
        Error::new(
            Code::VersionChanged,
            "The version changed while the bundle was uploading (another upload or its build); nothing was stored",
        )
    }
}

pub(crate) fn grant_not_found() -> Error {
    Error::new(Code::UploadGrantNotFound, "Upload grant not found, already used or expired")
}
