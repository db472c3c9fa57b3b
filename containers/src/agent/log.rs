//! The command's log: its standard output and error and the agent's own `[burstflare]` lines,
//! appended to `<state_dir>/command.log`. At [`ROTATE_BYTES`] the file becomes `command.log.1`
//! (replacing the previous one), so the log never holds more than twice that.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The size at which the log is rotated.
pub const ROTATE_BYTES: u64 = 1024 * 1024;
/// What `GET /logs` returns when no `tail` is asked for, and the most it returns.
pub const DEFAULT_TAIL: u64 = 64 * 1024;
pub const MAX_TAIL: u64 = 1024 * 1024;

pub(crate) struct CommandLog {
    path: PathBuf,
    rotated: PathBuf,
    file: Mutex<Option<(File, u64)>>,
}

impl CommandLog {
    pub fn new(state_dir: &Path) -> Self {
        Self { path: state_dir.join("command.log"), rotated: state_dir.join("command.log.1"), file: Mutex::new(None) }
    }

    /// Appends an agent line (`[burstflare] …`).
    pub fn line(&self, text: &str) {
        self.append(format!("[burstflare] {text}\n").as_bytes());
    }

    /// Appends output; a failure to write is reported to the agent's log, not to the command.
    pub fn append(&self, bytes: &[u8]) {
        let mut guard = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = self.append_locked(&mut guard, bytes) {
            tracing::warn!(%error, path = %self.path.display(), "could not write the command log");
            *guard = None;
        }
    }

    fn append_locked(&self, slot: &mut Option<(File, u64)>, bytes: &[u8]) -> std::io::Result<()> {
        if let Some((_, size)) = slot {
            if *size > 0 && *size + bytes.len() as u64 > ROTATE_BYTES {
                fs::rename(&self.path, &self.rotated)?;
                *slot = None;
            }
        }
        if slot.is_none() {
            let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
            let size = file.metadata()?.len();
            *slot = Some((file, size));
        }
        let (file, size) = slot.as_mut().expect("opened above");
        file.write_all(bytes)?;
        *size += bytes.len() as u64;
        Ok(())
    }
}

/// The last `tail` bytes of the log, reaching into the rotated file when the current one is
/// shorter. Missing files are empty.
pub(crate) fn read_tail(state_dir: &Path, tail: u64) -> std::io::Result<Vec<u8>> {
    let current = last_bytes(&state_dir.join("command.log"), tail)?;
    let missing = tail.saturating_sub(current.len() as u64);
    if missing == 0 {
        return Ok(current);
    }
    let mut out = last_bytes(&state_dir.join("command.log.1"), missing)?;
    out.extend_from_slice(&current);
    Ok(out)
}

fn last_bytes(path: &Path, n: u64) -> std::io::Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(n)))?;
    let mut out = Vec::new();
    file.take(n).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_rotates_at_the_limit_and_the_tail_spans_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = CommandLog::new(dir.path());
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..16 {
            log.append(&chunk);
        }
        log.line("after");
        assert_eq!(fs::metadata(dir.path().join("command.log.1")).unwrap().len(), ROTATE_BYTES);
        assert_eq!(fs::read(dir.path().join("command.log")).unwrap(), b"[burstflare] after\n");
        let tail = read_tail(dir.path(), 100).unwrap();
        assert_eq!(tail.len(), 100);
        assert!(tail.starts_with(b"aaaa") && tail.ends_with(b"[burstflare] after\n"));
        for _ in 0..40 {
            log.append(&chunk);
        }
        let total = fs::metadata(dir.path().join("command.log")).unwrap().len()
            + fs::metadata(dir.path().join("command.log.1")).unwrap().len();
        assert!(total <= 2 * ROTATE_BYTES);
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_tail(dir.path(), 10).unwrap().is_empty());
    }
}
