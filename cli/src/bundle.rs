//! Template bundles as the CLI sends them: a `.tar.gz` file checked for the gzip magic, or a
//! directory packed into a `.tar.gz` in an anonymous temp file, streamed entry by entry (no
//! archive, and no file, is ever held in memory whole).
//!
//! Packing a directory `DIR`:
//! - Entries are named relative to `DIR` (`burstflare.json`, `src/main.rs`), in name order, with
//!   deterministic metadata (mtime fixed, owner 0, mode 0644 or 0755), so the same tree always
//!   gives the same bytes and the same build digest.
//! - Skipped: every entry named `.git` (directory or worktree file) at any depth, and special
//!   files (sockets, FIFOs, devices), which the server refuses; skipped special files are counted
//!   and named in a warning. Nothing else is left out: there is no ignore file.
//! - Symlinks are stored as symlinks and never followed, so nothing outside `DIR` is read. The
//!   server refuses links that leave the bundle, so they are refused here first: a target must
//!   be relative, may use `..` only as leading components, and must stay inside `DIR`.
//! - The compressed archive may not exceed [`MAX_BUNDLE_BYTES`]; packing stops as soon as it does.
//!
//! Also here: the manifest a version is added with, checked against the directory's own
//! `burstflare.json`, and the upload body, streamed from the file with progress.

use crate::error::{CliError, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use indicatif::ProgressBar;
use serde_json::Value;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use tar::{EntryType, Header, HeaderMode};
use tokio::io::{AsyncRead, ReadBuf};

/// The largest bundle the server accepts.
pub const MAX_BUNDLE_BYTES: u64 = 32 * 1024 * 1024;
/// The content type bundles are uploaded as.
pub const CONTENT_TYPE: &str = "application/gzip";
/// The manifest's name at the bundle root.
pub const MANIFEST_NAME: &str = "burstflare.json";
/// Entries never packed.
const SKIPPED_NAMES: &[&str] = &[".git"];

/// A bundle ready to upload: an open file positioned at its start, and its exact size.
#[derive(Debug)]
pub struct Bundle {
    pub file: File,
    pub bytes: u64,
    /// What was packed, when the bundle was packed from a directory.
    pub packed: Option<Packed>,
}

/// What packing a directory put in the archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packed {
    pub files: u64,
    pub directories: u64,
    pub symlinks: u64,
    /// The sum of the regular files' sizes.
    pub unpacked_bytes: u64,
    /// Special files left out, relative to the directory.
    pub skipped: Vec<String>,
}

fn io_error(what: &str, path: &Path, e: io::Error) -> CliError {
    CliError::new("bundle_io", format!("cannot {what} {}: {e}", path.display()))
}

fn too_large(path: &Path) -> CliError {
    CliError::new(
        "bundle_too_large",
        format!("{} packs to more than {} MiB, the bundle limit", path.display(), MAX_BUNDLE_BYTES >> 20),
    )
}

/// A directory is packed; anything else must already be a `.tar.gz` of at most the limit.
pub fn prepare(path: &Path) -> Result<Bundle> {
    let meta = fs::metadata(path).map_err(|e| io_error("read", path, e))?;
    if meta.is_dir() {
        return pack_dir(path);
    }
    let mut file = File::open(path).map_err(|e| io_error("open", path, e))?;
    let mut magic = Vec::with_capacity(2);
    (&mut file).take(2).read_to_end(&mut magic).map_err(|e| io_error("read", path, e))?;
    if magic != [0x1f, 0x8b] {
        return Err(CliError::new(
            "not_gzip",
            format!("{} is not a gzip file; a bundle is a .tar.gz archive or a directory to pack", path.display()),
        ));
    }
    if meta.len() > MAX_BUNDLE_BYTES {
        return Err(too_large(path));
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| io_error("read", path, e))?;
    Ok(Bundle { file, bytes: meta.len(), packed: None })
}

/// Counts what is written and fails once more than the limit was.
struct Limited<W> {
    inner: W,
    written: u64,
    exceeded: bool,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > MAX_BUNDLE_BYTES {
            self.exceeded = true;
            return Err(io::Error::other("the bundle is too large"));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Archive = tar::Builder<GzEncoder<Limited<BufWriter<File>>>>;

/// Packs `dir` into a `.tar.gz` in an anonymous temp file (see the module docs for the rules).
pub fn pack_dir(dir: &Path) -> Result<Bundle> {
    let temp = tempfile::tempfile().map_err(|e| io_error("create a temp file for", dir, e))?;
    let limited = Limited { inner: BufWriter::new(temp), written: 0, exceeded: false };
    let mut archive = tar::Builder::new(GzEncoder::new(limited, Compression::default()));
    archive.mode(HeaderMode::Deterministic);
    archive.follow_symlinks(false);
    let mut packed = Packed::default();
    let failed = |e| io_error("write the bundle of", dir, e);
    let walked = walk(&mut archive, dir, Path::new(""), &mut packed).and_then(|()| archive.finish().map_err(failed));
    if archive.get_ref().get_ref().exceeded {
        return Err(too_large(dir));
    }
    walked?;
    let mut gz = archive.into_inner().map_err(failed)?;
    let finished = gz.try_finish();
    if gz.get_ref().exceeded {
        return Err(too_large(dir));
    }
    finished.map_err(failed)?;
    let limited = gz.finish().map_err(failed)?;
    let mut file = limited.inner.into_inner().map_err(|e| failed(e.into_error()))?;
    let bytes = file.stream_position().map_err(failed)?;
    file.seek(SeekFrom::Start(0)).map_err(failed)?;
    Ok(Bundle { file, bytes, packed: Some(packed) })
}

fn walk(archive: &mut Archive, dir: &Path, rel: &Path, packed: &mut Packed) -> Result<()> {
    let here = dir.join(rel);
    let mut entries = fs::read_dir(&here)
        .and_then(|list| list.collect::<io::Result<Vec<_>>>())
        .map_err(|e| io_error("list", &here, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if SKIPPED_NAMES.iter().any(|s| name == *s) {
            continue;
        }
        let (full, rel) = (entry.path(), rel.join(&name));
        let kind = entry.file_type().map_err(|e| io_error("read", &full, e))?;
        let packing = |e| io_error("pack", &full, e);
        if kind.is_dir() {
            archive.append_dir(&rel, &full).map_err(packing)?;
            packed.directories += 1;
            walk(archive, dir, &rel, packed)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&full).map_err(|e| io_error("read the link", &full, e))?;
            check_link(&rel, &target)?;
            archive.append_path_with_name(&full, &rel).map_err(packing)?;
            packed.symlinks += 1;
        } else if kind.is_file() {
            packed.unpacked_bytes += append_file(archive, &full, &rel).map_err(packing)?;
            packed.files += 1;
        } else {
            packed.skipped.push(rel.display().to_string());
        }
    }
    Ok(())
}

/// Appends a regular file with exactly the size it had when opened: a file that shrinks while
/// being read fails the packing instead of corrupting the archive; growth is cut off.
fn append_file(archive: &mut Archive, full: &Path, rel: &Path) -> io::Result<u64> {
    let file = File::open(full)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("it was replaced while packing"));
    }
    let mut header = Header::new_gnu();
    header.set_metadata_in_mode(&meta, HeaderMode::Deterministic);
    header.set_entry_type(EntryType::Regular);
    let size = meta.len();
    archive.append_data(&mut header, rel, Exact { inner: file.take(size), left: size })?;
    Ok(size)
}

struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while packing"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Refuses a symlink whose target is absolute or leaves the bundle (the server's rule).
fn check_link(rel: &Path, target: &Path) -> Result<()> {
    let refuse = |why: &str| {
        Err(CliError::new(
            "bundle_symlink_escapes",
            format!("symlink {} -> {} {why}; bundles may only link inside themselves", rel.display(), target.display()),
        ))
    };
    let mut depth = rel.parent().map_or(0, |p| p.components().count());
    let mut leading = true;
    for part in target.components() {
        match part {
            Component::RootDir | Component::Prefix(_) => return refuse("is absolute"),
            Component::CurDir => {}
            Component::ParentDir if !leading => return refuse("uses `..` after other components"),
            Component::ParentDir if depth == 0 => return refuse("points outside the bundle"),
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => {
                leading = false;
                depth += 1;
            }
        }
    }
    if target.as_os_str().is_empty() {
        return refuse("has an empty target");
    }
    Ok(())
}

/// Where the manifest of a directory bundle would be.
pub fn manifest_in(dir: &Path) -> Option<PathBuf> {
    let path = dir.join(MANIFEST_NAME);
    fs::symlink_metadata(&path).ok().filter(fs::Metadata::is_file).map(|_| path)
}

/// The manifest from `--manifest`, else from the bundle directory's `burstflare.json`. When the
/// directory has one too, both must be the same JSON (the build would fail otherwise).
pub fn read_manifest(file: Option<&Path>, bundle: &Path) -> Result<Value> {
    let inside = if bundle.is_dir() { manifest_in(bundle) } else { None };
    let read = |path: &Path| -> Result<Value> {
        let bad = |why: String| CliError::new("invalid_manifest_file", format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))
    };
    let Some(file) = file.or(inside.as_deref()) else {
        return Err(CliError::new(
            "missing_manifest",
            format!("pass --manifest FILE.json (there is no {} in {})", MANIFEST_NAME, bundle.display()),
        ));
    };
    let manifest = read(file)?;
    if let Some(inside) = inside.as_deref().filter(|p| *p != file) {
        if read(inside)? != manifest {
            return Err(CliError::new(
                "manifest_mismatch",
                format!("{} differs from {}; the build would fail", inside.display(), file.display()),
            ));
        }
    }
    Ok(manifest)
}

/// Counts the bytes read from the file into the progress bar.
struct Progress<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: AsyncRead + Unpin> AsyncRead for Progress<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.bar.inc((buf.filled().len() - before) as u64);
        }
        poll
    }
}

/// The bundle as a request body, streamed from the file, advancing `bar` as it is read.
pub fn streamed(file: File, bar: ProgressBar) -> reqwest::Body {
    let reader = Progress { inner: tokio::fs::File::from_std(file), bar };
    reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(reader))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    fn entries(bundle: Bundle) -> Vec<(String, EntryType, Option<String>)> {
        let mut archive = tar::Archive::new(GzDecoder::new(bundle.file));
        let list = archive.entries().unwrap().map(|e| {
            let e = e.unwrap();
            let link = e.link_name().unwrap().map(|l| l.display().to_string());
            (e.path().unwrap().display().to_string(), e.header().entry_type(), link)
        });
        list.collect()
    }

    #[cfg(unix)]
    #[test]
    fn packs_relative_paths_keeps_symlinks_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/.git")).unwrap();
        fs::create_dir_all(dir.path().join(".git/objects")).unwrap();
        fs::write(dir.path().join("burstflare.json"), "{}").unwrap();
        fs::write(dir.path().join("src/main.sh"), "echo hi\n").unwrap();
        std::os::unix::fs::symlink("main.sh", dir.path().join("src/run")).unwrap();
        let bundle = pack_dir(dir.path()).unwrap();
        let packed = bundle.packed.clone().unwrap();
        assert_eq!((packed.files, packed.directories, packed.symlinks, packed.unpacked_bytes), (2, 1, 1, 10));
        let names: Vec<_> = entries(bundle).into_iter().map(|(n, k, l)| (n, k.is_symlink(), l)).collect();
        assert_eq!(
            names,
            [
                ("burstflare.json".into(), false, None),
                ("src".into(), false, None),
                ("src/main.sh".into(), false, None),
                ("src/run".into(), true, Some("main.sh".into())),
            ]
        );
        // Deterministic: the same tree packs to the same bytes.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        pack_dir(dir.path()).unwrap().file.read_to_end(&mut a).unwrap();
        pack_dir(dir.path()).unwrap().file.read_to_end(&mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn links_must_stay_inside() {
        assert!(check_link(Path::new("a/b/l"), Path::new("../../x")).is_ok());
        assert!(check_link(Path::new("l"), Path::new("./x/y")).is_ok());
        for (link, target) in [("l", "/etc/passwd"), ("l", "../x"), ("a/l", "../../x"), ("a/l", "x/../../y")] {
            let err = check_link(Path::new(link), Path::new(target)).unwrap_err();
            assert_eq!(err.code, "bundle_symlink_escapes", "{link} -> {target}");
        }
    }

    #[test]
    fn files_must_be_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.tar.gz");
        fs::write(&path, "plain text").unwrap();
        assert_eq!(prepare(&path).unwrap_err().code, "not_gzip");
        fs::write(&path, [0x1f]).unwrap();
        assert_eq!(prepare(&path).unwrap_err().code, "not_gzip");
        fs::write(&path, [0x1f, 0x8b, 8, 0]).unwrap();
        assert_eq!(prepare(&path).unwrap().bytes, 4);
        assert_eq!(prepare(&dir.path().join("missing")).unwrap_err().code, "bundle_io");
    }
}
