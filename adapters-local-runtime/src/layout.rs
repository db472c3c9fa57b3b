//! Where a session's files live on the host, and the checks that keep those paths safe: the
//! session id must be one path component, the folders are real folders (never symlinks) with mode
//! 0700, and the agent's socket path fits in a `sockaddr_un`.

use burstflare_core::error::PortError;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The longest session id accepted as a folder name.
const MAX_ID_LEN: usize = 128;

/// The agent's socket, in `run/`.
pub(crate) const SOCKET_NAME: &str = "agent.sock";
/// The command's log and its rotated predecessor, written by the agent in `run/`.
pub(crate) const COMMAND_LOG: &str = "command.log";
pub(crate) const COMMAND_LOG_ROTATED: &str = "command.log.1";
/// The agent's marker that the bundle was unpacked into the workspace, in `run/`.
pub(crate) const UNPACKED_MARKER: &str = burstflare_containers::agent::bundle::MARKER;
/// The bundle as the agent reads it, in `run/`.
pub(crate) const BUNDLE_NAME: &str = "bundle.tar.gz";

/// Checks that `id` can name a folder: 1 to 128 ASCII letters, digits, `_` or `-`, not starting
/// with `-` (so never `.`, `..`, a `/` or an option-looking argument).
pub fn validate_session_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("session id {id:?} is not a safe folder name"))
    }
}

/// One session's paths on the host.
#[derive(Debug, Clone)]
pub(crate) struct SessionPaths {
    pub root: PathBuf,
    pub workspace: PathBuf,
    pub run: PathBuf,
    /// Host-only: the processes and generation of the running agent.
    pub record: PathBuf,
    /// Host-only: the agent's own standard output and error.
    pub agent_log: PathBuf,
}

impl SessionPaths {
    pub fn new(sessions_dir: &Path, id: &str) -> Result<Self, PortError> {
        validate_session_id(id).map_err(PortError::Other)?;
        let root = sessions_dir.join(id);
        Ok(Self {
            workspace: root.join("workspace"),
            run: root.join("run"),
            record: root.join("agent.json"),
            agent_log: root.join("agent.log"),
            root,
        })
    }

    pub fn socket(&self) -> PathBuf {
        self.run.join(SOCKET_NAME)
    }
    pub fn command_log(&self) -> PathBuf {
        self.run.join(COMMAND_LOG)
    }
    pub fn command_log_rotated(&self) -> PathBuf {
        self.run.join(COMMAND_LOG_ROTATED)
    }
    pub fn marker(&self) -> PathBuf {
        self.run.join(UNPACKED_MARKER)
    }
    pub fn bundle(&self) -> PathBuf {
        self.run.join(BUNDLE_NAME)
    }
    /// Host-only: where the bundle is written before it is renamed into `run/`.
    pub fn bundle_tmp(&self) -> PathBuf {
        self.root.join("bundle.tmp")
    }

    /// Makes the session's folders (0700), refusing any that exists as something other than a
    /// real folder (a symlink planted by an earlier boot of the session, for one).
    pub fn create(&self) -> io::Result<()> {
        for dir in [&self.root, &self.workspace, &self.run] {
            make_private_dir(dir)?;
        }
        Ok(())
    }
}

/// Creates `dir` with mode 0700 if missing (its parents too); an existing one must be a real
/// folder and is set to 0700.
pub(crate) fn make_private_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_dir() => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)),
        Ok(_) => Err(io::Error::other(format!("{} exists and is not a folder", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new().recursive(true).mode(0o700).create(dir),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_safe_components_are_session_ids() {
        for good in ["ses_0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b", "a", "A-b_9"] {
            assert!(validate_session_id(good).is_ok(), "{good}");
        }
        let long = "a".repeat(129);
        for bad in ["", ".", "..", "a/b", "/abs", "-rf", "a b", "é", "a\0b", long.as_str()] {
            assert!(validate_session_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folders_are_private_and_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SessionPaths::new(dir.path(), "ses_1").unwrap();
        paths.create().unwrap();
        for d in [&paths.root, &paths.workspace, &paths.run] {
            assert_eq!(fs::metadata(d).unwrap().permissions().mode() & 0o777, 0o700);
        }
        fs::remove_dir(&paths.run).unwrap();
        std::os::unix::fs::symlink("/etc", &paths.run).unwrap();
        assert!(paths.create().is_err());
    }
}
