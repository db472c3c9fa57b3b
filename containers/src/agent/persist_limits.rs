//! What a restore of the persisted paths takes, enforced when they are saved too, so that anything
//! a save stores can be restored: the bundle limits on entries (files, folders and links) and on
//! the files' bytes, and a bound on the archive's compressed size that every archive within those
//! two fits. `GET /persist` measures the paths first and refuses, with the reason, before a byte
//! is sent; the archiver counts again as it goes (the files may change meanwhile) and breaks the
//! stream off past a limit, so the save fails and the previous snapshot stays the latest.

use burstflare_core::bundle::{Limits, MANIFEST_NAME};
use std::io;
use std::path::Path;

/// What an archive entry is, as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Dir,
    /// A regular file of this many bytes.
    File(u64),
    Link,
}

/// The limits of a persisted-paths archive (those of a bundle's content).
pub fn persist_limits() -> Limits {
    Limits::default()
}

/// The largest archive a restore receives: the files' bytes, a tar header and padding per entry
/// (1 KiB at most), and room for zstd's framing; an archive within the other limits never
/// exceeds it.
pub fn max_archive_bytes(limits: &Limits) -> u64 {
    limits.max_unpacked_bytes.saturating_add(limits.max_entries.saturating_mul(1024)).saturating_add(1 << 20)
}

/// Counts entries and file bytes against [`persist_limits`].
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    entries: u64,
    bytes: u64,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Self { limits: persist_limits(), entries: 0, bytes: 0 }
    }

    /// One more entry at archive path `name`; `InvalidData` with the reason when it goes past a
    /// limit, or is a manifest at the root that a restore would refuse.
    pub(crate) fn take(&mut self, name: &Path, entry: Entry) -> io::Result<()> {
        self.entries += 1;
        if let Entry::File(bytes) = entry {
            self.bytes = self.bytes.saturating_add(bytes);
        }
        if self.entries > self.limits.max_entries {
            return Err(over(format!(
                "the persisted paths hold more than {} entries (files, folders and links), more than a restore takes",
                self.limits.max_entries
            )));
        }
        if self.bytes > self.limits.max_unpacked_bytes {
            return Err(over(format!(
                "the persisted paths hold more than {} bytes of files, more than a restore takes",
                self.limits.max_unpacked_bytes
            )));
        }
        if name == Path::new(MANIFEST_NAME) {
            match entry {
                Entry::File(bytes) if bytes > self.limits.max_manifest_bytes => {
                    return Err(over(format!(
                        "{MANIFEST_NAME} at the workspace root is larger than {} bytes, more than a restore takes",
                        self.limits.max_manifest_bytes
                    )))
                }
                Entry::File(_) => {}
                _ => return Err(over(format!("{MANIFEST_NAME} at the workspace root is not a regular file"))),
            }
        }
        Ok(())
    }
}

/// Checks an archive's compressed size so far.
pub(crate) fn check_archive_size(archive_bytes: u64) -> io::Result<()> {
    let max = max_archive_bytes(&persist_limits());
    if archive_bytes > max {
        return Err(over(format!("the archive grew past {max} bytes, more than a restore takes")));
    }
    Ok(())
}

fn over(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

/// Whether the error is a limit's (its message is the reason to show).
pub(crate) fn is_over_limit(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_at_the_restores_limits() {
        let limits = persist_limits();
        let mut budget = Budget::new();
        for _ in 0..limits.max_entries {
            budget.take(Path::new("d"), Entry::Dir).unwrap();
        }
        let e = budget.take(Path::new("d"), Entry::Link).unwrap_err();
        assert!(is_over_limit(&e) && e.to_string().contains("entries"), "{e}");
        let mut budget = Budget::new();
        budget.take(Path::new("f"), Entry::File(limits.max_unpacked_bytes)).unwrap();
        assert!(budget.take(Path::new("g"), Entry::File(1)).unwrap_err().to_string().contains("bytes of files"));
        let mut budget = Budget::new();
        assert!(budget.take(Path::new("data/burstflare.json"), Entry::Link).is_ok(), "only the root's matters");
        assert!(budget.take(Path::new(MANIFEST_NAME), Entry::Link).is_err());
        assert!(budget.take(Path::new(MANIFEST_NAME), Entry::File(limits.max_manifest_bytes + 1)).is_err());
        assert!(check_archive_size(max_archive_bytes(&limits)).is_ok());
        assert!(check_archive_size(max_archive_bytes(&limits) + 1).is_err());
    }
}
