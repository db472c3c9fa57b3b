//! Host-side reads and writes that a session cannot turn against the host. The session can plant
//! anything in `run/` and `workspace/` (a symlink to `/etc/shadow`, a FIFO that blocks a reader),
//! so the driver never opens a path there that could follow a link: it writes into a host-only
//! temporary file and renames it over the target (a rename replaces a symlink, never follows it),
//! and reads with `O_NOFOLLOW | O_NONBLOCK`, regular files only, a bounded tail.

use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use nix::fcntl::OFlag;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Opens `path` for reading if it is a regular file, without following a symlink or blocking on
/// a FIFO; `None` when it is missing or anything else.
pub(crate) fn open_regular(path: &Path) -> io::Result<Option<File>> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // ELOOP: the last component is a symlink.
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(file.metadata()?.is_file().then_some(file))
}

/// The last `max` bytes of the regular file at `path` (empty when there is none).
pub(crate) fn tail(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let Some(mut file) = open_regular(path)? else { return Ok(Vec::new()) };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut out = Vec::with_capacity((len - start) as usize);
    file.take(max as u64).read_to_end(&mut out)?;
    Ok(out)
}

/// The last `max` bytes of a log that rotates to `rotated`: the current file's tail, preceded by
/// the rotated file's tail when the current one is shorter than `max`.
pub(crate) fn log_tail(current: &Path, rotated: &Path, max: usize) -> io::Result<Vec<u8>> {
    let newest = tail(current, max)?;
    if newest.len() >= max {
        return Ok(newest);
    }
    let mut out = tail(rotated, max - newest.len())?;
    out.extend_from_slice(&newest);
    Ok(out)
}

/// Writes `bytes` to the host-only `tmp` (created afresh, mode 0600) and renames it to `target`.
pub(crate) fn replace_with(tmp: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    remove_if_present(tmp)?;
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(tmp)?;
    io::Write::write_all(&mut file, bytes)?;
    file.sync_all()?;
    fs::rename(tmp, target)
}

/// Streams `body` into the host-only `tmp` (created afresh) and renames it to `target`.
pub(crate) async fn stream_into(tmp: &Path, target: &Path, body: &mut dyn ByteStream) -> Result<u64, PortError> {
    let io_err = |what: &str, e: io::Error| PortError::Other(format!("{what}: {e}"));
    remove_if_present(tmp).map_err(|e| io_err("clearing the bundle's temporary file", e))?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .await
        .map_err(|e| io_err("creating the bundle's temporary file", e))?;
    let mut size = 0u64;
    let written = async {
        while let Some(chunk) = body.next_chunk().await? {
            file.write_all(&chunk).await.map_err(|e| io_err("writing the bundle", e))?;
            size += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| io_err("writing the bundle", e))?;
        Ok::<_, PortError>(())
    }
    .await;
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    fs::rename(tmp, target).map_err(|e| io_err("moving the bundle into place", e))?;
    Ok(size)
}

/// Removes a file (or a symlink itself, never its target); missing is fine.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether something (of any kind, a dangling symlink included) is at `path`.
pub(crate) fn exists_no_follow(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_never_follow_symlinks_or_open_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        fs::write(&secret, "host secret").unwrap();
        let link = dir.path().join("command.log");
        symlink(&secret, &link).unwrap();
        assert!(tail(&link, 100).unwrap().is_empty());
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(tail(&fifo, 100).unwrap().is_empty());
        assert!(tail(&dir.path().join("missing"), 100).unwrap().is_empty());
    }

    #[test]
    fn the_tail_spans_the_rotated_log_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (current, rotated) = (dir.path().join("log"), dir.path().join("log.1"));
        fs::write(&rotated, "0123456789").unwrap();
        fs::write(&current, "abcdef").unwrap();
        assert_eq!(log_tail(&current, &rotated, 4).unwrap(), b"cdef");
        assert_eq!(log_tail(&current, &rotated, 9).unwrap(), b"789abcdef");
        assert_eq!(log_tail(&current, &rotated, 100).unwrap(), b"0123456789abcdef");
    }

    #[test]
    fn a_write_replaces_a_planted_symlink_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "untouched").unwrap();
        let target = dir.path().join("bundle.tar.gz");
        symlink(&victim, &target).unwrap();
        replace_with(&dir.path().join("tmp"), &target, b"bundle").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(fs::symlink_metadata(&target).unwrap().is_file());
        assert_eq!(fs::read(&target).unwrap(), b"bundle");
    }
}
