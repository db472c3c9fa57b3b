//! An R2 object's body as a [`ByteStream`]: R2 delivers it in chunks of its own choosing, which
//! are cut to at most [`CHUNK`] bytes. JS streams are not `Send`: the stream lives in a
//! `SendWrapper`, and every await on it runs inside a `SendFuture`.

use async_trait::async_trait;
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use futures_util::{Stream, StreamExt};
use std::fmt::Display;
use worker::send::{SendFuture, SendWrapper};

/// The largest chunk a get yields.
const CHUNK: usize = 64 * 1024;

/// A stream of byte chunks (an R2 object's body) as a [`ByteStream`]: chunks larger than
/// [`CHUNK`] are cut, empty ones skipped, errors are `Unavailable`. Generic over the stream so the
/// chunking runs natively in tests.
pub(crate) struct StreamBody<S> {
    stream: SendWrapper<S>,
    /// The chunk being handed out, and how much of it already was.
    pending: Vec<u8>,
    offset: usize,
}

impl<S> StreamBody<S> {
    pub(crate) fn new(stream: SendWrapper<S>) -> Self {
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
}
