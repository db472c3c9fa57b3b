//! Object storage on Cloudflare R2, streamed both ways so no object is ever held whole in the
//! Worker's memory. A put reads the body part by part ([`Parts`]): a body that fits one part is
//! a plain put; a larger one is an R2 multipart upload, one fixed-size part at a time, completed
//! once the body ended within its limit. Any failure — the body cut off, past its limit, R2
//! refusing a part — aborts the upload, so no parts stay behind (should the abort itself fail,
//! R2's lifecycle rule for incomplete uploads removes them). R2 makes an object visible, or
//! replaces the previous one, only when its upload completes, so a failed put leaves the
//! previous object as it was. A get streams the object's body as R2 delivers it; a list pages
//! through the keys under a prefix (uploads in progress are not objects yet, so they are never
//! listed). Every R2 failure is `Unavailable`. JS values are not `Send`: the bucket lives in a
//! `SendWrapper`, and every await on R2 runs inside a `SendFuture`.

use crate::r2_body::StreamBody;
use crate::r2_parts::{part_size, Parts};
use async_trait::async_trait;
use burstflare_core::blob::{Blob, BlobInfo, BlobStore, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::fmt::Display;
use worker::send::{SendFuture, SendWrapper};
use worker::{Bucket, HttpMetadata, MultipartUpload, UploadedPart};

/// What a get reports for an object stored without a content type (e.g. uploaded by other tools).
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Key → R2 object. Keys are used as they are: R2 has no folders to escape from.
pub struct R2BlobStore {
    bucket: SendWrapper<Bucket>,
}

impl R2BlobStore {
    pub fn new(bucket: Bucket) -> Self {
        Self { bucket: SendWrapper::new(bucket) }
    }
}

#[async_trait]
impl BlobStore for R2BlobStore {
    // A failed put is mostly the client's body (empty, too large, cut off): logged at debug; the
    // edge logs the 5xx ones at error with their cause.
    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err(level = "debug"))]
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        let metadata = HttpMetadata { content_type: Some(content_type.to_string()), ..HttpMetadata::default() };
        let bucket: &Bucket = &self.bucket;
        let mut parts = Parts::new(body, limit, part_size(limit));
        let size = SendFuture::new(async move {
            let (first, last) = parts.next().await?;
            if last {
                let stored = bucket.put(key, first).http_metadata(metadata).execute().await;
                // `None` only answers a failed precondition, and this put sets none.
                let stored = stored.map_err(|e| unavailable("put", key, e))?;
                stored.ok_or_else(|| unavailable("put", key, "the object was not stored"))?;
            } else {
                multipart(bucket, key, metadata, first, &mut parts).await?;
            }
            Ok::<_, PortError>(parts.read())
        })
        .await?;
        Ok(BlobInfo { size, content_type: content_type.to_string() })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err)]
    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        let bucket = &self.bucket;
        let found = SendFuture::new(async move {
            let Some(object) = bucket.get(key).execute().await? else { return Ok(None) };
            let content_type = object.http_metadata().content_type;
            let info = BlobInfo {
                size: object.size(),
                content_type: content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
            };
            let body = object.body().ok_or_else(|| worker::Error::RustError("the object has no body".into()))?;
            Ok::<_, worker::Error>(Some((info, SendWrapper::new(body.stream()?))))
        })
        .await
        .map_err(|e| unavailable("get", key, e))?;
        Ok(found.map(|(info, stream)| Blob { info, body: Box::new(StreamBody::new(stream)) }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err)]
    async fn delete(&self, key: &str) -> PortResult<()> {
        let bucket = &self.bucket;
        SendFuture::new(async move { bucket.delete(key).await }).await.map_err(|e| unavailable("delete", key, e))
    }

    /// Every key under `prefix`, a page (R2 answers at most 1,000 keys) at a time.
    #[tracing::instrument(level = "debug", skip_all, fields(prefix = %prefix), err)]
    async fn list(&self, prefix: &str) -> PortResult<Option<Vec<String>>> {
        let bucket = &self.bucket;
        let keys = SendFuture::new(async move {
            let mut keys = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut request = bucket.list().prefix(prefix);
                if let Some(cursor) = cursor.take() {
                    request = request.cursor(cursor);
                }
                let page = request.execute().await?;
                keys.extend(page.objects().iter().map(worker::Object::key));
                match page.cursor() {
                    Some(next) if page.truncated() => cursor = Some(next),
                    _ => return Ok::<_, worker::Error>(keys),
                }
            }
        })
        .await
        .map_err(|e| unavailable("list", prefix, e))?;
        Ok(Some(keys))
    }
}

/// Streams a body of more than one part (`first` is read already) as a multipart upload, and
/// aborts the upload on any failure.
async fn multipart(
    bucket: &Bucket,
    key: &str,
    metadata: HttpMetadata,
    first: Vec<u8>,
    parts: &mut Parts<'_>,
) -> PortResult<()> {
    let upload = bucket.create_multipart_upload(key).http_metadata(metadata).execute().await;
    let upload = upload.map_err(|e| unavailable("multipart upload of", key, e))?;
    let uploaded = match upload_parts(&upload, key, first, parts).await {
        Ok(uploaded) => uploaded,
        Err(e) => {
            abort(&upload, key).await;
            return Err(e);
        }
    };
    let id = upload.upload_id().await;
    if let Err(e) = upload.complete(uploaded).await {
        // `complete` took the upload; a failed one is still open until aborted.
        match bucket.resume_multipart_upload(key, id) {
            Ok(upload) => abort(&upload, key).await,
            Err(e) => tracing::warn!(key, error = %e, "an R2 upload that failed to complete was left open"),
        }
        return Err(unavailable("completing the upload of", key, e));
    }
    Ok(())
}

/// Uploads `first` and every following part, numbered from 1 (`part_size` keeps the count
/// within R2's 10,000).
async fn upload_parts(
    upload: &MultipartUpload,
    key: &str,
    first: Vec<u8>,
    parts: &mut Parts<'_>,
) -> PortResult<Vec<UploadedPart>> {
    let mut uploaded = Vec::new();
    let (mut part, mut last) = (first, false);
    loop {
        let number =
            u16::try_from(uploaded.len() + 1).map_err(|_| unavailable("upload of", key, "more parts than R2 takes"))?;
        let done = upload.upload_part(number, part).await;
        uploaded.push(done.map_err(|e| unavailable(&format!("part {number} of"), key, e))?);
        if last {
            return Ok(uploaded);
        }
        (part, last) = parts.next().await?;
    }
}

/// Aborts an upload that will not complete; a failure is logged (R2 removes incomplete uploads
/// after a while by itself).
async fn abort(upload: &MultipartUpload, key: &str) {
    if let Err(e) = upload.abort().await {
        tracing::warn!(key, error = %e, "aborting an R2 upload failed; its parts stay until R2 expires them");
    }
}

fn unavailable(action: &str, key: &str, e: impl Display) -> PortError {
    PortError::Unavailable(format!("R2 {action} {key:?}: {e}"))
}
