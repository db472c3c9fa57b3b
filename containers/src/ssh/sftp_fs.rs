//! The file-system side of the SFTP server: resolving the paths a client sends, describing files
//! as SFTP attributes, applying `setstat`, and turning I/O errors into SFTP statuses.

use russh_sftp::protocol::{FileAttributes, StatusCode};
use russh_sftp::server::StatusReply;
use std::fs::{FileTimes, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// A client's path: relative ones (and the empty path) start at the workspace; absolute ones are
/// taken as they are (the user has a shell anyway; the session's sandbox is the boundary).
pub(super) fn resolve(workspace: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        workspace.join(path)
    }
}

/// The canonical form of a path for `realpath`: resolved on disk when it exists, else cleaned of
/// `.` and `..` lexically (a client asks for the real path of a file it is about to create).
pub(super) fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let mut clean = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::ParentDir => {
                clean.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    clean
}

/// A file's attributes as SFTP sends them (the mode carries the file type).
pub(super) fn attributes(meta: &Metadata) -> FileAttributes {
    FileAttributes {
        size: Some(meta.len()),
        uid: Some(meta.uid()),
        gid: Some(meta.gid()),
        permissions: Some(meta.mode()),
        atime: Some(u32::try_from(meta.atime()).unwrap_or(0)),
        mtime: Some(u32::try_from(meta.mtime()).unwrap_or(0)),
        ..FileAttributes::default()
    }
}

/// Applies `setstat`/`fsetstat` to an open file: size, permissions and times. Owners are left
/// alone (the session has one user).
pub(super) async fn apply(file: tokio::fs::File, attrs: FileAttributes) -> io::Result<()> {
    let file = file.into_std().await;
    tokio::task::spawn_blocking(move || {
        if let Some(size) = attrs.size {
            file.set_len(size)?;
        }
        if let Some(mode) = attrs.permissions {
            file.set_permissions(Permissions::from_mode(mode & 0o7777))?;
        }
        let mut times = FileTimes::new();
        if let Some(atime) = attrs.atime {
            times = times.set_accessed(UNIX_EPOCH + Duration::from_secs(atime.into()));
        }
        if let Some(mtime) = attrs.mtime {
            times = times.set_modified(UNIX_EPOCH + Duration::from_secs(mtime.into()));
        }
        if attrs.atime.is_some() || attrs.mtime.is_some() {
            file.set_times(times)?;
        }
        Ok(())
    })
    .await
    .map_err(io::Error::other)?
}

/// Opens a path for `setstat`: for writing when the size changes, else for reading (which also
/// works on directories).
pub(super) async fn open_for_setstat(path: &Path, attrs: &FileAttributes) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    if attrs.size.is_some() {
        options.write(true);
    } else {
        options.read(true);
    }
    options.open(path).await
}

/// The SFTP status of an I/O error.
pub(super) fn status(error: io::Error) -> StatusReply {
    let code = match error.kind() {
        io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    };
    StatusReply::new(code).with_message(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_start_at_the_workspace() {
        let ws = Path::new("/workspace");
        assert_eq!(resolve(ws, ""), PathBuf::from("/workspace"));
        assert_eq!(resolve(ws, "."), PathBuf::from("/workspace/."));
        assert_eq!(resolve(ws, "a/b"), PathBuf::from("/workspace/a/b"));
        assert_eq!(resolve(ws, "/etc/hosts"), PathBuf::from("/etc/hosts"));
    }

    #[test]
    fn missing_paths_are_cleaned_lexically() {
        let path = Path::new("/no-such-dir-here/x/./../y");
        assert_eq!(canonical(path), PathBuf::from("/no-such-dir-here/y"));
        assert_eq!(canonical(Path::new("/no-such-dir-here/../..")), PathBuf::from("/"));
    }
}
