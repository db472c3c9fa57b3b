//! Object storage on Cloudflare R2. R2 needs an object's length before it takes the upload, so a
//! put gathers the body in memory up to its limit (past it: `TooLarge`, and nothing is sent); R2
//! replaces an object only once its upload completed, so the previous one stays if anything fails.
//! A get streams the object's body as R2 delivers it, cut into chunks of at most 64 KiB. Every R2
//! failure is `Unavailable`. JS values are not `Send`: the bucket and the body streams live in
//! `SendWrapper`s, and every await on them runs inside a `SendFuture`.

use async_trait::async_trait;
use burstflare_core::blob::{read_to_end, Blob, BlobInfo, BlobStore, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use futures_util::{Stream, StreamExt};
use std::fmt::Display;
use worker::send::{SendFuture, SendWrapper};
use worker::{Bucket, HttpMetadata};

/// The largest chunk a get yields.
const CHUNK: usize = 64 * 1024;
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
        let bytes = read_to_end(body, limit).await?;
        let info = BlobInfo { size: bytes.len() as u64, content_type: content_type.to_string() };
        let metadata = HttpMetadata { content_type: Some(info.content_type.clone()), ..HttpMetadata::default() };
        let bucket = &self.bucket;
        let stored = SendFuture::new(async move { bucket.put(key, bytes).http_metadata(metadata).execute().await })
            .await
            .map_err(|e| unavailable("put", key, e))?;
        // `None` only answers a failed precondition, and this put sets none.
        stored.ok_or_else(|| unavailable("put", key, "the object was not stored"))?;
        Ok(info)
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
}

fn unavailable(action: &str, key: &str, e: impl Display) -> PortError {
    PortError::Unavailable(format!("R2 {action} {key:?}: {e}"))
}

/// A stream of byte chunks (an R2 object's body) as a [`ByteStream`]: chunks larger than
/// [`CHUNK`] are cut, empty ones skipped, errors are `Unavailable`. Generic over the stream so the
/// chunking runs natively in tests.
struct StreamBody<S> {
    stream: SendWrapper<S>,
    /// The chunk being handed out, and how much of it already was.
    pending: Vec<u8>,
    offset: usize,
}

impl<S> StreamBody<S> {
    fn new(stream: SendWrapper<S>) -> Self {
        Self { stream, pending: Vec::new(), offset: 0 }
    }
}

#[async_trait]
impl<S, E> ByteStream for StreamBody<S>
where
    S: Stream<Item = Result<Vec<u8>, E>> + Unpin + 'static,
    E: Display,
{
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        while self.offset == self.pending.len() {
            let stream = &mut self.stream;
            let next = SendFuture::new(async move { stream.0.next().await.map(|r| r.map_err(|e| e.to_string())) });
            match next.await {
                None => return Ok(None),
                Some(Err(e)) => return Err(PortError::Unavailable(format!("R2 read: {e}"))),
                Some(Ok(chunk)) => (self.pending, self.offset) = (chunk, 0),
            }
        }
        if self.offset == 0 && self.pending.len() <= CHUNK {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        let end = self.pending.len().min(self.offset + CHUNK);
        let chunk = self.pending[self.offset..end].to_vec();
        self.offset = end;
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{stream, FutureExt};

    type Items = Vec<Result<Vec<u8>, String>>;

    fn body(items: Items) -> StreamBody<stream::Iter<<Items as IntoIterator>::IntoIter>> {
        StreamBody::new(SendWrapper::new(stream::iter(items)))
    }

    /// Every chunk of `body`; the streams here are in memory, so nothing ever waits.
    fn chunks(body: &mut dyn ByteStream) -> PortResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(chunk) = body.next_chunk().now_or_never().expect("in memory")? {
            out.push(chunk);
        }
        Ok(out)
    }

    #[test]
    fn large_chunks_are_cut_and_empty_ones_skipped() {
        let big: Vec<u8> = (0..CHUNK * 2 + 5).map(|i| (i % 253) as u8).collect();
        let got = chunks(&mut body(vec![Ok(vec![1, 2]), Ok(Vec::new()), Ok(big.clone()), Ok(vec![3])])).unwrap();
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [2, CHUNK, CHUNK, 5, 1]);
        assert_eq!(got.concat(), [&[1, 2][..], &big, &[3]].concat());
        assert_eq!(chunks(&mut body(Vec::new())).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn read_errors_are_unavailable() {
        let error = chunks(&mut body(vec![Ok(vec![1]), Err("connection reset".to_string())])).unwrap_err();
        assert!(matches!(error, PortError::Unavailable(ref m) if m.contains("connection reset")), "{error:?}");
    }

    /// An endless body of 4-byte chunks that counts how often it was read.
    struct Endless(usize);

    #[async_trait]
    impl ByteStream for Endless {
        async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
            self.0 += 1;
            Ok(Some(vec![0; 4]))
        }
    }

    /// A put gathers the body with `read_to_end`: it stops reading at the first chunk past the
    /// limit, so an oversized upload is neither buffered nor sent.
    #[test]
    fn a_put_stops_reading_past_its_limit() {
        let mut endless = Endless(0);
        let gathered = read_to_end(&mut endless, 10).now_or_never().expect("in memory");
        assert_eq!(gathered, Err(PortError::TooLarge { limit: 10 }));
        assert_eq!(endless.0, 3);
    }
}
