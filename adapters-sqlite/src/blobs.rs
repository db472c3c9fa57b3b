//! Object storage as files under a root folder (the local shape's data dir). An object is one file
//! at its key's path: a one-line JSON header with the content type, then the body. A put streams
//! the body into a temp file beside the object and renames it into place only once the whole body
//! arrived within the limit, so a put that fails, goes over its limit or is cancelled leaves the
//! previous object as it was, and a reader sees the old object or the new one, never a mix.
//! Temp files left by a process that was killed mid-put are removed when a store is opened; no
//! key may take a temp file's name, so that sweep can never remove an object.

use async_trait::async_trait;
use burstflare_core::blob::{Blob, BlobInfo, BlobStore, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The size of the chunks a stored object is read back in.
const CHUNK: usize = 64 * 1024;
/// The longest header a stored file may start with; content types are far shorter.
const MAX_HEADER: u64 = 4 * 1024;
/// Numbers the temp files of this process, so concurrent puts never share one.
static TEMP_FILES: AtomicU64 = AtomicU64::new(0);
/// The names of this process's temp files still being written, which a sweep must leave alone
/// (another store on the same root may be opened while a put runs, as tests do).
static LIVE_TEMP_FILES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Key → file under `root`. Keys are `/`-separated relative paths; a key may not be both an
/// object and a folder of other objects (`a` and `a/b`): the put that needs the other shape is
/// refused with `Other`. The root belongs to one server process at a time: opening a store
/// removes every temp file under it that this process is not writing.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store under `root`, creating the folder if needed and removing the temp files that puts
    /// interrupted by a crash or a kill left behind (with the folders that only held them).
    pub fn new(root: PathBuf) -> Result<Self, PortError> {
        std::fs::create_dir_all(&root).map_err(|e| io_error("creating", &root, e))?;
        let removed = sweep_temp_files(&root, true);
        if removed > 0 {
            tracing::info!(removed, root = %root.display(), "removed temp files of interrupted blob puts");
        }
        Ok(Self { root })
    }

    /// The file of `key`. Refuses (with `Other`) any key that is not a `/`-separated list of plain
    /// names: empty, absolute, with an empty, `.` or `..` segment, a backslash, a NUL or anything
    /// else the platform reads as more than one name (a drive prefix), so no key leaves the root.
    fn path_of(&self, key: &str) -> PortResult<PathBuf> {
        let mut path = self.root.clone();
        for segment in key.split('/') {
            let mut parts = Path::new(segment).components();
            let plain = matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None));
            if !plain || segment.contains(['\\', '\0']) {
                return Err(PortError::Other(format!("invalid blob key {key:?}: {segment:?} is not a plain name")));
            }
            if is_temp_name(OsStr::new(segment)) {
                return Err(PortError::Other(format!("invalid blob key {key:?}: {segment:?} is a temp file's name")));
            }
            path.push(segment);
        }
        Ok(path)
    }

    /// Removes the folders a delete left empty, up to (not including) the root. A put racing with
    /// this retries creating its folder (see [`TempFile::create`]).
    async fn prune(&self, file: &Path) {
        let mut dir = file.parent();
        while let Some(d) = dir.filter(|d| *d != self.root && d.starts_with(&self.root)) {
            if fs::remove_dir(d).await.is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    // A failed put is mostly the client's body (empty, too large, cut off): logged at debug; the
    // edge logs the 5xx ones at error with their cause.
    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err(level = "debug"))]
    async fn put(&self, key: &str, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<BlobInfo> {
        let path = self.path_of(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        let mut temp = TempFile::create(dir).await?;
        let size = temp.write(content_type, body, limit).await?;
        temp.persist(&path).await?;
        Ok(BlobInfo { size, content_type: content_type.to_string() })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err)]
    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        let path = self.path_of(key)?;
        let file = match File::open(&path).await {
            Ok(file) => file,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => return Ok(None),
            Err(e) => return Err(io_error("opening", &path, e)),
        };
        let meta = file.metadata().await.map_err(|e| io_error("reading", &path, e))?;
        if !meta.is_file() {
            return Ok(None); // a folder of other objects
        }
        let mut reader = BufReader::with_capacity(CHUNK, file);
        let (content_type, header_len) = read_header(&mut reader, &path).await?;
        let size = meta.len().saturating_sub(header_len);
        Ok(Some(Blob { info: BlobInfo { size, content_type }, body: Box::new(FileBody { reader, path }) }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = %key), err)]
    async fn delete(&self, key: &str) -> PortResult<()> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => self.prune(&path).await,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {}
            // A folder of other objects, not an object: nothing to delete.
            Err(_) if fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) => {}
            Err(e) => return Err(io_error("deleting", &path, e)),
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(prefix = %prefix), err)]
    async fn list(&self, prefix: &str) -> PortResult<Option<Vec<String>>> {
        crate::blob_list::list_keys(self.root.clone(), prefix.to_string()).await.map(Some)
    }
}

/// Whether `name` is a temp file's: `.put-<pid>-<n>.tmp`, both numbers in decimal digits.
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let numbers = name.to_str().and_then(|n| n.strip_prefix(".put-")).and_then(|n| n.strip_suffix(".tmp"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    numbers.and_then(|n| n.split_once('-')).is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Removes the temp files under `dir` that no put of this process is writing, then the folders
/// (below the root) that this left empty; returns how many files went. Best effort: what cannot
/// be read or removed is logged and left, since a leftover temp file is never read as an object.
/// Symlinks are not followed.
fn sweep_temp_files(dir: &Path, is_root: bool) -> u64 {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "could not look for leftover temp files");
            return 0;
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let name = entry.file_name();
        if kind.is_dir() {
            removed += sweep_temp_files(&entry.path(), false);
        } else if kind.is_file() && is_temp_name(&name) && !is_live(&name) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(file = %entry.path().display(), error = %e, "could not remove a temp file"),
            }
        }
    }
    if removed > 0 && !is_root {
        let _ = std::fs::remove_dir(dir); // fails, as it should, unless the sweep emptied it
    }
    removed
}

fn is_live(name: &OsStr) -> bool {
    name.to_str().is_some_and(|name| live_temp_files().contains(name))
}

fn live_temp_files() -> MutexGuard<'static, BTreeSet<String>> {
    LIVE_TEMP_FILES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks a temp file's name as being written by this process for as long as it lives, so a put
/// whose future is dropped at any point unmarks it.
struct LiveName(String);

impl LiveName {
    fn new(name: String) -> Self {
        live_temp_files().insert(name.clone());
        Self(name)
    }
}

impl Drop for LiveName {
    fn drop(&mut self) {
        live_temp_files().remove(&self.0);
    }
}

/// A file being written beside its destination; removed when dropped unless it was renamed into
/// place, so a put that fails, goes over its limit or whose future is dropped leaves nothing behind.
struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
    /// Dropped after the file is removed (fields drop after `Drop::drop`).
    _live: LiveName,
}

impl TempFile {
    async fn create(dir: &Path) -> PortResult<Self> {
        let name = format!(".put-{}-{}.tmp", std::process::id(), TEMP_FILES.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(&name);
        let live = LiveName::new(name);
        let mut attempt = 1;
        loop {
            let created = async {
                fs::create_dir_all(dir).await?;
                OpenOptions::new().write(true).create_new(true).open(&path).await
            };
            match created.await {
                Ok(file) => return Ok(Self { path, file, persisted: false, _live: live }),
                // A delete pruned the folder between the two calls.
                Err(e) if e.kind() == ErrorKind::NotFound && attempt < 3 => attempt += 1,
                Err(e) => return Err(io_error("creating", &path, e)),
            }
        }
    }

    /// Writes the header and the body, refusing more than `limit` body bytes; returns the body size.
    async fn write(&mut self, content_type: &str, body: &mut dyn ByteStream, limit: u64) -> PortResult<u64> {
        let (path, file) = (&self.path, &mut self.file);
        let header = format!("{}\n", serde_json::json!({ "content_type": content_type }));
        file.write_all(header.as_bytes()).await.map_err(|e| io_error("writing", path, e))?;
        let mut size = 0u64;
        while let Some(chunk) = body.next_chunk().await? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(PortError::TooLarge { limit });
            }
            file.write_all(&chunk).await.map_err(|e| io_error("writing", path, e))?;
        }
        file.flush().await.map_err(|e| io_error("writing", path, e))?;
        file.sync_all().await.map_err(|e| io_error("syncing", path, e))?;
        Ok(size)
    }

    /// Renames the written file over `to`, replacing any previous object at once.
    async fn persist(mut self, to: &Path) -> PortResult<()> {
        fs::rename(&self.path, to).await.map_err(|e| io_error("storing", to, e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: a leftover temp file is never read as an object.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads the header line; returns the content type and the header's length in bytes.
async fn read_header(reader: &mut BufReader<File>, path: &Path) -> PortResult<(String, u64)> {
    let corrupt = |why: String| PortError::Other(format!("corrupt blob file {}: {why}", path.display()));
    let mut line = Vec::new();
    reader.take(MAX_HEADER).read_until(b'\n', &mut line).await.map_err(|e| io_error("reading", path, e))?;
    if line.last() != Some(&b'\n') {
        return Err(corrupt("no header line".to_string()));
    }
    let header: serde_json::Value = serde_json::from_slice(&line).map_err(|e| corrupt(e.to_string()))?;
    let content_type = header["content_type"].as_str().ok_or_else(|| corrupt("no content type".to_string()))?;
    Ok((content_type.to_string(), line.len() as u64))
}

/// An object's body read from its file in [`CHUNK`]-sized pieces. The open file keeps reading the
/// object it was opened on even if a put replaces it meanwhile.
struct FileBody {
    reader: BufReader<File>,
    path: PathBuf,
}

#[async_trait]
impl ByteStream for FileBody {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut reader = (&mut self.reader).take(CHUNK as u64);
        reader.read_to_end(&mut chunk).await.map_err(|e| io_error("reading", &self.path, e))?;
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

/// Files where folders are needed (or the reverse) are a key clash, `Other`; anything else means
/// the disk is not serving us, `Unavailable`.
fn io_error(action: &str, path: &Path, e: std::io::Error) -> PortError {
    let message = format!("{action} {}: {e}", path.display());
    use ErrorKind::{AlreadyExists, DirectoryNotEmpty, IsADirectory, NotADirectory};
    match e.kind() {
        NotADirectory | IsADirectory | DirectoryNotEmpty | AlreadyExists => PortError::Other(message),
        _ => PortError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::blob::BytesBody;

    /// Every file under `dir`, as paths relative to it.
    fn files(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            match path.is_dir() {
                true => found.extend(files(&path).into_iter().map(|f| format!("{name}/{f}"))),
                false => found.push(name),
            }
        }
        found.sort();
        found
    }

    /// Yields one chunk, then fails or (with `hang`) never answers again.
    struct Broken {
        sent: bool,
        hang: bool,
    }

    #[async_trait]
    impl ByteStream for Broken {
        async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
            if !std::mem::replace(&mut self.sent, true) {
                return Ok(Some(vec![7; 100]));
            }
            if self.hang {
                std::future::pending::<()>().await;
            }
            Err(PortError::Unavailable("client went away".to_string()))
        }
    }

    #[tokio::test]
    async fn keys_that_could_leave_the_root_are_refused() {
        let outer = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(outer.path().join("blobs")).unwrap();
        let bad = ["", "/etc/passwd", "../escape", "a/../../escape", "a/./b", "a//b", "a/", "a\\..\\b", "a\0b", ".."];
        for key in bad {
            let put = store.put(key, "text/plain", &mut BytesBody::new("x"), 10).await;
            assert!(matches!(put, Err(PortError::Other(_))), "put {key:?}: {put:?}");
            assert!(matches!(store.get(key).await, Err(PortError::Other(_))), "get {key:?}");
            assert!(matches!(store.delete(key).await, Err(PortError::Other(_))), "delete {key:?}");
        }
        assert_eq!(files(outer.path()), Vec::<String>::new());

        store.put("snapshots/ws 1/é.tar.gz", "application/gzip", &mut BytesBody::new("x"), 10).await.unwrap();
        assert_eq!(files(outer.path()), ["blobs/snapshots/ws 1/é.tar.gz"]);
        // An object and a folder of the same name clash; the folder is no object.
        for clash in ["snapshots", "snapshots/ws 1/é.tar.gz/x"] {
            let put = store.put(clash, "text/plain", &mut BytesBody::new("y"), 10).await;
            assert!(matches!(put, Err(PortError::Other(_))), "put {clash:?}: {put:?}");
        }
        assert!(store.get("snapshots").await.unwrap().is_none());
        store.delete("snapshots").await.unwrap();
        store.delete("snapshots/ws 1/é.tar.gz").await.unwrap();
        assert_eq!(files(outer.path()), Vec::<String>::new(), "emptied folders are pruned");
    }

    #[tokio::test]
    async fn failed_and_cancelled_puts_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().to_path_buf()).unwrap();
        store.put("a/b", "text/plain", &mut BytesBody::new("old"), 10).await.unwrap();

        let too_large = store.put("a/b", "text/plain", &mut BytesBody::new(vec![1; 11]), 10).await;
        assert_eq!(too_large.unwrap_err(), PortError::TooLarge { limit: 10 });
        let broken = store.put("a/b", "text/plain", &mut Broken { sent: false, hang: false }, 1000).await;
        assert!(matches!(broken, Err(PortError::Unavailable(_))), "{broken:?}");
        let mut hanging = Broken { sent: false, hang: true };
        let put = store.put("a/c", "text/plain", &mut hanging, 1000);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), put).await.is_err(), "it hangs");

        assert_eq!(files(dir.path()), ["a/b"]);
        let mut blob = store.get("a/b").await.unwrap().unwrap();
        assert_eq!(blob.body.next_chunk().await.unwrap(), Some(b"old".to_vec()));
    }

    #[tokio::test]
    async fn opening_a_store_removes_temp_files_left_by_killed_puts() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().to_path_buf()).unwrap();
        store.put("bundles/t/v1", "application/gzip", &mut BytesBody::new("kept"), 10).await.unwrap();
        // What a process killed mid-put leaves, beside an object and in a folder of its own.
        std::fs::write(dir.path().join("bundles/t/.put-4242-7.tmp"), "partial").unwrap();
        std::fs::create_dir_all(dir.path().join("snapshots/s1")).unwrap();
        std::fs::write(dir.path().join("snapshots/s1/.put-4242-8.tmp"), "partial").unwrap();
        // Names that only look alike are not temp files.
        for name in [".put-1-2.tmp.bak", ".put-x-2.tmp", "put-1-2.tmp", ".put--2.tmp"] {
            std::fs::write(dir.path().join("bundles/t").join(name), "other").unwrap();
        }
        // A put still running in this process (its temp file in place) is left alone.
        let mut hanging = Broken { sent: false, hang: true };
        let mut put = Box::pin(store.put("bundles/t/v2", "text/plain", &mut hanging, 1000));
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), &mut put).await.is_err(), "it hangs");
        let live =
            files(dir.path()).into_iter().find(|f| f.starts_with(&format!("bundles/t/.put-{}-", std::process::id())));
        let live = live.expect("the running put's temp file");

        let reopened = FsBlobStore::new(dir.path().to_path_buf()).unwrap();
        let mut expected = vec![
            "bundles/t/.put--2.tmp",
            "bundles/t/.put-1-2.tmp.bak",
            "bundles/t/.put-x-2.tmp",
            "bundles/t/put-1-2.tmp",
            "bundles/t/v1",
            live.as_str(),
        ];
        expected.sort();
        assert_eq!(files(dir.path()), expected, "leftovers are gone");
        assert!(!dir.path().join("snapshots").exists(), "so are the folders only they used");
        let mut blob = reopened.get("bundles/t/v1").await.unwrap().unwrap();
        assert_eq!(blob.body.next_chunk().await.unwrap(), Some(b"kept".to_vec()));
        drop(put);
        assert!(!files(dir.path()).contains(&live), "a cancelled put still removes its own temp file");

        // No key can take a temp file's name, so the sweep never removes an object.
        for key in [".put-1-2.tmp", "a/.put-1-2.tmp", ".put-1-2.tmp/a"] {
            let put = reopened.put(key, "text/plain", &mut BytesBody::new("x"), 10).await;
            assert!(matches!(put, Err(PortError::Other(_))), "put {key:?}: {put:?}");
        }
    }
}
