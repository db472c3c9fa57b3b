//! Streaming bodies between HTTP and the blob store: request bodies read frame by frame as a
//! `ByteStream` (never buffered whole), and a `ByteStream` (a stored blob, an archive) streamed
//! out as a body or a stream of chunks.

use async_trait::async_trait;
use axum::body::Body;
use burstflare_core::blob::{Blob, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use http_body_util::BodyExt;

/// A request body as a `ByteStream`.
pub struct RequestBody(pub Body);

#[async_trait]
impl ByteStream for RequestBody {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        loop {
            match self.0.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(PortError::BodyRead(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data.to_vec()));
                        }
                    }
                }
            }
        }
    }
}

/// A stored blob as a response body, streamed chunk by chunk.
pub fn response_body(blob: Blob) -> Body {
    stream_body(blob.body)
}

/// `body` as an HTTP body, streamed chunk by chunk; its error breaks the body off.
pub fn stream_body(body: Box<dyn ByteStream>) -> Body {
    use futures_util::StreamExt;
    let io =
        |chunk: PortResult<Vec<u8>>| chunk.map(bytes::Bytes::from).map_err(|e| std::io::Error::other(e.to_string()));
    Body::from_stream(chunks(body).map(io))
}

/// `body`'s chunks as a stream, ending after the first error.
pub fn chunks(body: Box<dyn ByteStream>) -> impl futures_util::Stream<Item = PortResult<Vec<u8>>> + Send {
    futures_util::stream::unfold(Some(body), |state| async move {
        let mut body = state?;
        match body.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
}
