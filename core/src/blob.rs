//! Object storage as the use cases see it: streamed bodies in, streamed bodies out, so neither the
//! server's memory nor a request's size depends on how large a bundle or snapshot is.

use crate::error::PortError;
use crate::ports::PortResult;
use async_trait::async_trait;

/// A body read chunk by chunk. `Ok(None)` is the end; an error ends the stream.
#[async_trait]
pub trait ByteStream: Send {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>>;
}

/// What is known of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub content_type: String,
}

/// A stored object being read.
pub struct Blob {
    pub info: BlobInfo,
    pub body: Box<dyn ByteStream>,
}

/// Key → object storage (files under the data folder natively, R2 on Cloudflare, memory in tests).
/// Keys are `/`-separated paths made by the use cases, never by clients.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Reads `body` to its end and stores it under `key`, replacing any previous object only once
    /// the whole body arrived: a body that fails midway or goes past `limit` bytes returns
    /// `TooLarge` (or the stream's error) and leaves the previous object, if any, as it was.
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo>;
    /// The object, or `None` when there is none.
    async fn get(&self, key: &str) -> PortResult<Option<Blob>>;
    /// Removes the object; removing a missing object is not an error.
    async fn delete(&self, key: &str) -> PortResult<()>;
    /// The keys of the stored objects under `prefix` (objects still being written excluded), or
    /// `None` when this store cannot list (then reconcile cannot find objects without a record).
    async fn list(&self, prefix: &str) -> PortResult<Option<Vec<String>>> {
        let _ = prefix;
        Ok(None)
    }
}

/// A body held in memory (build logs, tests), yielded in one chunk.
pub struct BytesBody(Option<Vec<u8>>);

impl BytesBody {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Some(bytes.into()))
    }
}

#[async_trait]
impl ByteStream for BytesBody {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        Ok(self.0.take().filter(|b| !b.is_empty()))
    }
}

/// Reads a whole stream into memory, refusing more than `limit` bytes (for small objects such as
/// build logs; large bodies are streamed).
pub async fn read_to_end(body: &mut dyn ByteStream, limit: u64) -> PortResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(PortError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Passes a body through while hashing it; [`digest`](Self::digest) is the `sha256:<hex>` of
/// what went through.
pub struct HashingBody<'a> {
    inner: &'a mut dyn ByteStream,
    hasher: sha2::Sha256,
}

impl<'a> HashingBody<'a> {
    pub fn new(inner: &'a mut dyn ByteStream) -> Self {
        use sha2::Digest as _;
        Self { inner, hasher: sha2::Sha256::new() }
    }
    /// The digest of every chunk read so far.
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }
}

#[async_trait]
impl ByteStream for HashingBody<'_> {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        use sha2::Digest as _;
        let chunk = self.inner.next_chunk().await?;
        if let Some(bytes) = &chunk {
            self.hasher.update(bytes);
        }
        Ok(chunk)
    }
}

/// The `sha256:<hex>` digest of a whole stream, read chunk by chunk.
pub async fn digest(body: &mut dyn ByteStream) -> PortResult<String> {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    while let Some(chunk) = body.next_chunk().await? {
        hasher.update(&chunk);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Passes a body through while hashing it, and ends it with an error instead of its end when its
/// digest is not `expected` (`sha256:<hex>`): a reader that acts only on a clean end (a restore)
/// never acts on altered content.
pub struct VerifiedBody<'a> {
    inner: HashingBody<'a>,
    expected: String,
}

impl<'a> VerifiedBody<'a> {
    pub fn new(inner: &'a mut dyn ByteStream, expected: &str) -> Self {
        Self { inner: HashingBody::new(inner), expected: expected.to_string() }
    }
}

#[async_trait]
impl ByteStream for VerifiedBody<'_> {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        let chunk = self.inner.next_chunk().await?;
        if chunk.is_none() && self.inner.digest() != self.expected {
            return Err(PortError::Other("the stored content does not match its digest".into()));
        }
        Ok(chunk)
    }
}
