//! A request body that fails its read when no data arrives for a while, so a client that stalls
//! mid-body cannot hold a connection (and an upload's temp file) for ever: the handler sees a read
//! error, answers 400 and drops what it wrote; the connection is then closed.

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a stalled body fails with.
#[derive(Debug)]
pub struct BodyIdle(Duration);

impl std::fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no body data arrived for {} ms", self.0.as_millis())
    }
}

impl std::error::Error for BodyIdle {}

/// `inner`, failing with [`BodyIdle`] once a read has waited `idle` without a frame.
pub struct IdleTimeoutBody {
    inner: Body,
    idle: Duration,
    /// Armed while a read is waiting; allocated on the first wait and reused.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl IdleTimeoutBody {
    pub fn wrap(inner: Body, idle: Duration) -> Body {
        Body::new(Self { inner, idle, timer: None, armed: false })
    }
}

impl HttpBody for IdleTimeoutBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame);
        }
        let deadline = Instant::now() + this.idle;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !this.armed {
            timer.as_mut().reset(deadline);
            this.armed = true;
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.armed = false;
                Poll::Ready(Some(Err(axum::Error::new(BodyIdle(this.idle)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_stalled_body_fails_and_a_flowing_one_does_not() {
        let (mut tx, rx) = channel_body();
        let mut body = IdleTimeoutBody::wrap(rx, Duration::from_millis(400));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => got.extend_from_slice(&frame.into_data().unwrap_or_default()),
                    Err(e) => return (got, Some(e.to_string())),
                }
            }
            (got, None)
        });
        // Longer than the idle limit in all, but never that long without data: still flowing.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            tx.send(b"ab".to_vec()).await;
        }
        // Then it stalls (the sender stays open) and the read fails.
        let (got, error) = tokio::time::timeout(Duration::from_secs(5), reader).await.unwrap().unwrap();
        assert_eq!(got, b"abababab");
        assert_eq!(error.as_deref(), Some("no body data arrived for 400 ms"));
        drop(tx);
    }

    /// A body fed by the test.
    struct Sender(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

    impl Sender {
        async fn send(&mut self, data: Vec<u8>) {
            self.0.send(Ok(Bytes::from(data))).await.unwrap();
        }
    }

    fn channel_body() -> (Sender, Body) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (Sender(tx), Body::from_stream(stream))
    }
}
