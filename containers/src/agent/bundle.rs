//! The template's bundle, unpacked into the workspace on the session's first start: checked in
//! full by the core's [`BundleInspector`] first (streamed, never held whole), then unpacked with
//! every entry checked again, and a marker in the state folder so a restart does not unpack it twice.

use burstflare_core::bundle::{BundleError, BundleInspector, Limits};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

/// The marker written once the bundle is unpacked (it holds the bundle's SHA-256).
pub const MARKER: &str = "bundle-unpacked";

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("could not read the bundle {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the bundle is refused: {0}")]
    Invalid(#[from] BundleError),
    #[error("could not unpack the bundle into {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the bundle is refused: {0}")]
    Refused(String),
}

/// What happened to the bundle on this start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpacked {
    /// No bundle configured.
    NoBundle,
    /// Unpacked earlier (the marker exists).
    Already,
    /// Unpacked now; the bundle's SHA-256.
    Now(String),
}

/// Unpacks `bundle` into `workspace` unless `<state_dir>/bundle-unpacked` says it was done.
/// Blocking: call it from `spawn_blocking`.
pub fn unpack_once(bundle: Option<&Path>, workspace: &Path, state_dir: &Path) -> Result<Unpacked, UnpackError> {
    let Some(bundle) = bundle else { return Ok(Unpacked::NoBundle) };
    let marker = state_dir.join(MARKER);
    if marker.exists() {
        return Ok(Unpacked::Already);
    }
    let read_error = |source| UnpackError::Read { path: bundle.to_path_buf(), source };
    let mut inspector = BundleInspector::new(Limits::default());
    let mut file = File::open(bundle).map_err(read_error)?;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut chunk).map_err(read_error)?;
        if n == 0 {
            break;
        }
        inspector.feed(&chunk[..n])?;
    }
    let report = inspector.finish()?;
    unpack(bundle, workspace)?;
    let write_error = |source| UnpackError::Write { path: marker.clone(), source };
    fs::write(&marker, format!("{}\n", report.sha256_hex)).map_err(write_error)?;
    Ok(Unpacked::Now(report.sha256_hex))
}

fn unpack(bundle: &Path, workspace: &Path) -> Result<(), UnpackError> {
    let file = File::open(bundle).map_err(|source| UnpackError::Read { path: bundle.to_path_buf(), source })?;
    unpack_tar(flate2::read::MultiGzDecoder::new(file), workspace, &|_| true)
}

/// Unpacks a tar stream into `workspace`, every entry checked again (plain relative names, links
/// inside the root, only files, directories and links) and, by `allowed`, where it may go.
pub(crate) fn unpack_tar(
    reader: impl Read,
    workspace: &Path,
    allowed: &dyn Fn(&Path) -> bool,
) -> Result<(), UnpackError> {
    let write_error = |source| UnpackError::Write { path: workspace.to_path_buf(), source };
    let mut archive = tar::Archive::new(reader);
    archive.set_overwrite(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(false);
    for entry in archive.entries().map_err(write_error)? {
        let mut entry = entry.map_err(write_error)?;
        let path = entry.path().map_err(write_error)?.into_owned();
        let shown = path.display().to_string();
        if !is_plain_relative(&path) {
            return Err(UnpackError::Refused(format!("path escapes the bundle root: {shown}")));
        }
        if !allowed(&path) {
            return Err(UnpackError::Refused(format!("outside the persisted paths: {shown}")));
        }
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink => {
                let target = entry.link_name().map_err(write_error)?.unwrap_or_default();
                if !symlink_stays_inside(&path, &target) {
                    return Err(UnpackError::Refused(format!("link escapes the bundle root: {shown}")));
                }
            }
            EntryType::Link => {
                let target = entry.link_name().map_err(write_error)?.unwrap_or_default();
                if !is_plain_relative(&target) {
                    return Err(UnpackError::Refused(format!("link escapes the bundle root: {shown}")));
                }
            }
            other => return Err(UnpackError::Refused(format!("unsupported entry {other:?}: {shown}"))),
        }
        if !entry.unpack_in(workspace).map_err(write_error)? {
            return Err(UnpackError::Refused(format!("path escapes the bundle root: {shown}")));
        }
    }
    Ok(())
}

/// A non-empty relative path with no `..`.
fn is_plain_relative(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// A relative symlink whose target, resolved from the link's folder, stays inside the root.
fn symlink_stays_inside(link: &Path, target: &Path) -> bool {
    let mut depth = link.components().filter(|c| matches!(c, Component::Normal(_))).count() as i64 - 1;
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_must_resolve_inside_the_root() {
        assert!(symlink_stays_inside(Path::new("a/link"), Path::new("../b")));
        assert!(symlink_stays_inside(Path::new("link"), Path::new("b/c")));
        assert!(!symlink_stays_inside(Path::new("link"), Path::new("../b")));
        assert!(!symlink_stays_inside(Path::new("a/link"), Path::new("../../b")));
        assert!(!symlink_stays_inside(Path::new("a/link"), Path::new("/etc/passwd")));
        assert!(!is_plain_relative(Path::new("../x")) && !is_plain_relative(Path::new("/x")));
        assert!(is_plain_relative(Path::new("./a/b")));
    }
}
