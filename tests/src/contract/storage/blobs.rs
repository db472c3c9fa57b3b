//! The blob store: streamed puts that replace an object only once the whole body arrived within
//! its limit, streamed gets, idempotent deletes, one object per key.

use crate::contract::harness::Harness;
use anyhow::Context as _;
use burstflare_core::blob::{Blob, BlobInfo, ByteStream, BytesBody};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::collections::VecDeque;

/// A body yielding its items in order: chunks, and possibly an error.
struct Chunks(VecDeque<PortResult<Vec<u8>>>);

impl Chunks {
    /// `count` chunks of `size` bytes each, all different.
    fn of(count: usize, size: usize) -> Self {
        Self((0..count).map(|i| Ok(bytes(size, i))).collect())
    }

    /// Those chunks, then `error` in place of the end.
    fn failing(count: usize, size: usize, error: PortError) -> Self {
        let mut chunks = Self::of(count, size);
        chunks.0.push_back(Err(error));
        chunks
    }

    fn concat(&self) -> Vec<u8> {
        self.0.iter().filter_map(|c| c.as_ref().ok()).flatten().copied().collect()
    }
}

#[async_trait::async_trait]
impl ByteStream for Chunks {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        self.0.pop_front().transpose()
    }
}

/// `len` bytes of a pattern that differs per `seed`.
fn bytes(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed * 7) % 251) as u8).collect()
}

/// The stored object's info and its whole body, read chunk by chunk.
async fn read(h: &Harness, key: &str) -> anyhow::Result<Option<(BlobInfo, Vec<u8>)>> {
    let Some(Blob { info, mut body }) = h.blobs.get(key).await? else { return Ok(None) };
    let mut all = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        all.extend(chunk);
    }
    Ok(Some((info, all)))
}

fn info(size: usize, content_type: &str) -> BlobInfo {
    BlobInfo { size: size as u64, content_type: content_type.to_string() }
}

pub async fn blobs_round_trip_bytes_type_and_size_across_chunks(h: &Harness) -> anyhow::Result<()> {
    // 300 KB in uneven chunks: several 64 KiB read chunks, none aligned with the written ones.
    let mut body = Chunks::of(30, 10_007);
    let expected = body.concat();
    let limit = expected.len() as u64; // a body of exactly the limit is accepted
    let stored = h.blobs.put("snapshots/s1/1.tar.gz", "application/gzip", &mut body, limit).await?;
    assert_eq!(stored, info(expected.len(), "application/gzip"));

    let (got, all) = read(h, "snapshots/s1/1.tar.gz").await?.context("the object is stored")?;
    assert_eq!(got, stored);
    assert!(all == expected, "the bytes read back differ from the bytes written");
    Ok(())
}

pub async fn blobs_over_the_limit_are_refused_and_change_nothing(h: &Harness) -> anyhow::Result<()> {
    let mut body = Chunks::of(10, 1_000);
    let refused = h.blobs.put("new", "text/plain", &mut body, 9_999).await;
    assert_eq!(refused, Err(PortError::TooLarge { limit: 9_999 }));
    assert!(h.blobs.get("new").await?.is_none(), "nothing is stored under a new key");

    let old = bytes(5_000, 1);
    h.blobs.put("bundle", "application/x-tar", &mut BytesBody::new(old.clone()), 10_000).await?;
    let refused = h.blobs.put("bundle", "text/plain", &mut Chunks::of(3, 4_000), 10_000).await;
    assert_eq!(refused, Err(PortError::TooLarge { limit: 10_000 }));
    let refused = h.blobs.put("bundle", "text/plain", &mut BytesBody::new(bytes(101, 2)), 100).await;
    assert_eq!(refused, Err(PortError::TooLarge { limit: 100 }));
    assert_eq!(read(h, "bundle").await?, Some((info(5_000, "application/x-tar"), old)));
    Ok(())
}

pub async fn blobs_with_a_failing_body_change_nothing(h: &Harness) -> anyhow::Result<()> {
    let gone = PortError::Unavailable("the client went away".to_string());
    let failed = h.blobs.put("new", "text/plain", &mut Chunks::failing(3, 70_000, gone.clone()), u64::MAX).await;
    assert_eq!(failed, Err(gone.clone()), "the body's own error is returned");
    assert!(h.blobs.get("new").await?.is_none(), "nothing is stored under a new key");

    let old = bytes(100_000, 3);
    h.blobs.put("log", "text/plain", &mut BytesBody::new(old.clone()), u64::MAX).await?;
    let failed = h.blobs.put("log", "application/json", &mut Chunks::failing(2, 90_000, gone.clone()), u64::MAX).await;
    assert_eq!(failed, Err(gone));
    assert_eq!(read(h, "log").await?, Some((info(100_000, "text/plain"), old)));
    Ok(())
}

pub async fn blobs_delete_idempotently(h: &Harness) -> anyhow::Result<()> {
    h.blobs.delete("never/stored").await?;
    h.blobs.put("a/b", "text/plain", &mut BytesBody::new("hello"), 100).await?;
    h.blobs.delete("a/b").await?;
    assert!(h.blobs.get("a/b").await?.is_none());
    h.blobs.delete("a/b").await?;
    assert!(h.blobs.get("a/b").await?.is_none());

    // A deleted key can be stored again.
    h.blobs.put("a/b", "text/plain", &mut BytesBody::new("again"), 100).await?;
    assert_eq!(read(h, "a/b").await?, Some((info(5, "text/plain"), b"again".to_vec())));
    Ok(())
}

pub async fn blobs_are_isolated_by_key(h: &Harness) -> anyhow::Result<()> {
    let keys = ["ws1/s1/snap", "ws1/s2/snap", "ws2/s1/snap", "ws1/s1/snap2", "ws1s1snap"];
    for (i, key) in keys.iter().enumerate() {
        h.blobs.put(key, &format!("type/{i}"), &mut BytesBody::new(bytes(1_000 + i, i)), 10_000).await?;
    }
    h.blobs.delete("ws1/s1/snap").await?;
    assert!(h.blobs.get("ws1/s1/snap").await?.is_none());
    for (i, key) in keys.iter().enumerate().skip(1) {
        let expected = (info(1_000 + i, &format!("type/{i}")), bytes(1_000 + i, i));
        assert_eq!(read(h, key).await?, Some(expected), "{key}");
    }
    for missing in ["ws1", "ws1/s1", "ws1/s2/sna", "ws1/s2/snap/more"] {
        assert!(h.blobs.get(missing).await?.is_none(), "{missing} is no object");
    }
    Ok(())
}

pub async fn blobs_are_replaced_by_overwrites(h: &Harness) -> anyhow::Result<()> {
    h.blobs.put("logs/build", "application/octet-stream", &mut Chunks::of(4, 50_000), u64::MAX).await?;
    let stored = h.blobs.put("logs/build", "text/plain", &mut BytesBody::new("short"), 100).await?;
    assert_eq!(stored, info(5, "text/plain"));
    assert_eq!(read(h, "logs/build").await?, Some((stored, b"short".to_vec())), "no tail of the old object");

    let mut body = Chunks::of(3, 70_000);
    let longer = body.concat();
    h.blobs.put("logs/build", "text/x-log", &mut body, u64::MAX).await?;
    assert_eq!(read(h, "logs/build").await?, Some((info(210_000, "text/x-log"), longer)));
    Ok(())
}

pub async fn blobs_may_be_empty(h: &Harness) -> anyhow::Result<()> {
    let stored = h.blobs.put("empty", "text/plain", &mut BytesBody::new(Vec::new()), 0).await?;
    assert_eq!(stored, info(0, "text/plain"));
    let Blob { info: got, mut body } = h.blobs.get("empty").await?.context("the empty object is stored")?;
    assert_eq!(got, stored);
    assert_eq!(body.next_chunk().await?, None);

    // An empty body replaces a non-empty object too.
    h.blobs.put("full", "text/plain", &mut BytesBody::new("data"), 10).await?;
    h.blobs.put("full", "application/json", &mut Chunks(VecDeque::new()), 10).await?;
    assert_eq!(read(h, "full").await?, Some((info(0, "application/json"), Vec::new())));
    Ok(())
}
