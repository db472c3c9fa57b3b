//! The archive of a session's persisted paths as it crosses between the Worker and the session's
//! object: a JS body read as a [`ByteStream`], a [`ByteStream`] turned into a body, and a small
//! channel that feeds a request's body from a borrowed [`ByteStream`] (a failing source breaks
//! the body off, so the receiving side stores or changes nothing).

use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use futures_util::StreamExt;
use worker::send::{SendFuture, SendWrapper};

/// A body arriving from the other side, read chunk by chunk.
pub struct Incoming(SendWrapper<worker::ByteStream>);

impl Incoming {
    pub fn new(stream: worker::ByteStream) -> Self {
        Self(SendWrapper::new(stream))
    }
}

#[async_trait::async_trait]
impl ByteStream for Incoming {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        match SendFuture::new(self.0.next()).await {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(e)) => Err(PortError::Other(format!("the archive broke off: {e}"))),
        }
    }
}

/// `archive` as a response body's stream; an error ends the body as a failed one.
pub fn outgoing(archive: Box<dyn ByteStream>) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>> {
    crate::body::chunks(archive).map(|chunk| chunk.map_err(|e| worker::Error::RustError(e.to_string())))
}

type Chunk = Result<bytes::Bytes, std::io::Error>;

/// A request body fed through a channel of two chunks, and its sending side.
pub fn channel() -> (futures_channel::mpsc::Sender<Chunk>, axum::body::Body) {
    let (tx, rx) = futures_channel::mpsc::channel::<Chunk>(2);
    (tx, axum::body::Body::from_stream(rx))
}

/// Copies `archive` into `tx` until its end; its error goes into the body too (breaking it off)
/// and is returned. A receiver that went away ends the copy quietly.
pub async fn pump(archive: &mut dyn ByteStream, mut tx: futures_channel::mpsc::Sender<Chunk>) -> PortResult<()> {
    loop {
        let item = match archive.next_chunk().await {
            Ok(Some(chunk)) => Ok(bytes::Bytes::from(chunk)),
            Ok(None) => return Ok(()),
            Err(e) => Err(e),
        };
        if futures_util::future::poll_fn(|cx| tx.poll_ready(cx)).await.is_err() {
            return item.map(|_| ());
        }
        match item {
            Ok(chunk) => {
                let _ = tx.start_send(Ok(chunk));
            }
            Err(e) => {
                let _ = tx.start_send(Err(std::io::Error::other(e.to_string())));
                return Err(e);
            }
        }
    }
}
