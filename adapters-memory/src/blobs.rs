//! Object storage in memory, for tests and `--ephemeral` runs: a put reads its body to the end
//! before it replaces anything, keeping the bytes in fixed-size pieces (so storing an object never
//! takes more memory than the object), and a get streams those pieces without copying the object.

use async_trait::async_trait;
use burstflare_core::blob::{Blob, BlobInfo, BlobStore, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// The size of the pieces an object is kept and read back in.
const CHUNK: usize = 64 * 1024;

/// One stored object; shared with the readers that are streaming it, so an overwrite or a delete
/// never cuts a read short.
struct Object {
    info: BlobInfo,
    pieces: Arc<[Vec<u8>]>,
}

/// Key → object map behind one lock. Clones share the same objects.
#[derive(Clone, Default)]
pub struct MemoryBlobStore {
    objects: Arc<Mutex<HashMap<String, Object>>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self) -> PortResult<MutexGuard<'_, HashMap<String, Object>>> {
        self.objects
            .lock()
            .map_err(|_| PortError::Unavailable("memory blob store is poisoned by an earlier panic".to_string()))
    }
}

impl fmt::Debug for MemoryBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBlobStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        // Nothing is stored until the whole body arrived within the limit.
        let (mut pieces, mut size) = (Vec::new(), 0u64);
        while let Some(chunk) = body.next_chunk().await? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(PortError::TooLarge { limit });
            }
            append(&mut pieces, &chunk);
        }
        if let Some(last) = pieces.last_mut() {
            last.shrink_to_fit();
        }
        let info = BlobInfo { size, content_type: content_type.to_string() };
        let object = Object { info: info.clone(), pieces: pieces.into() };
        self.objects()?.insert(key.to_string(), object);
        Ok(info)
    }

    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        let objects = self.objects()?;
        Ok(objects.get(key).map(|object| Blob {
            info: object.info.clone(),
            body: Box::new(SharedBody { pieces: object.pieces.clone(), next: 0 }),
        }))
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        self.objects()?.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> PortResult<Option<Vec<String>>> {
        let mut keys: Vec<String> = self.objects()?.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        keys.sort();
        Ok(Some(keys))
    }
}

/// Appends `data` to the last piece, starting a new one each time a piece holds [`CHUNK`] bytes.
fn append(pieces: &mut Vec<Vec<u8>>, mut data: &[u8]) {
    while !data.is_empty() {
        match pieces.last_mut() {
            Some(last) if last.len() < CHUNK => {
                let n = data.len().min(CHUNK - last.len());
                last.extend_from_slice(&data[..n]);
                data = &data[n..];
            }
            _ => pieces.push(Vec::with_capacity(CHUNK)),
        }
    }
}

/// A stored object read piece by piece.
struct SharedBody {
    pieces: Arc<[Vec<u8>]>,
    next: usize,
}

#[async_trait]
impl ByteStream for SharedBody {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        let piece = self.pieces.get(self.next).cloned();
        self.next += 1;
        Ok(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::blob::BytesBody;

    /// A body in 1000-byte chunks.
    struct Thousands(std::vec::IntoIter<Vec<u8>>);

    #[async_trait]
    impl ByteStream for Thousands {
        async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
            Ok(self.0.next())
        }
    }

    #[tokio::test]
    async fn objects_are_kept_in_full_pieces_and_reads_survive_an_overwrite() {
        let store = MemoryBlobStore::new();
        let bytes: Vec<u8> = (0..CHUNK * 2 + 10).map(|i| (i % 251) as u8).collect();
        let mut body = Thousands(bytes.chunks(1000).map(<[u8]>::to_vec).collect::<Vec<_>>().into_iter());
        store.put("k", "application/octet-stream", &mut body, u64::MAX).await.unwrap();
        let mut blob = store.get("k").await.unwrap().unwrap();
        store.put("k", "text/plain", &mut BytesBody::new("new"), u64::MAX).await.unwrap();

        let mut sizes = Vec::new();
        let mut read = Vec::new();
        while let Some(chunk) = blob.body.next_chunk().await.unwrap() {
            sizes.push(chunk.len());
            read.extend(chunk);
        }
        assert_eq!(sizes, [CHUNK, CHUNK, 10]);
        assert_eq!(read, bytes);
    }
}
