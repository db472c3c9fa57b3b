//! The bundle's tar rules for an archive that is not gzip (a session's persisted-paths archive,
//! tar + zstd, decompressed by its reader): the same names, link and entry-type checks and the
//! same limits on entries and unpacked bytes, fed uncompressed tar bytes. An archive with no entry
//! at all is accepted here (an empty persisted path saves to nothing).

use super::tar::{check_symlink, TarScanner};
use super::{BundleError, Limits};

/// Checks one uncompressed tar stream fed in chunks. After the first error every call returns it.
pub struct TarInspector {
    scanner: TarScanner,
    failed: Option<BundleError>,
}

impl TarInspector {
    pub fn new(limits: Limits) -> Self {
        Self { scanner: TarScanner::new(limits), failed: None }
    }

    /// Pushes the next tar bytes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), BundleError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.scanner.write(chunk);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// Checks that the archive ended where one may end; returns how many entries it holds.
    pub fn finish(self) -> Result<u64, BundleError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        self.scanner.finish()?;
        Ok(self.scanner.files + self.scanner.directories + self.scanner.links)
    }
}

/// Whether a symlink at archive path `name` pointing at `target` stays inside the root by the
/// bundle rules (relative, leading `..` only, never above the root).
pub fn symlink_stays_inside(name: &str, target: &str) -> bool {
    check_symlink(name, target).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(name: &str, link: Option<&str>) -> Vec<u8> {
        let mut builder = ::tar::Builder::new(Vec::new());
        let mut header = ::tar::Header::new_gnu();
        header.set_size(if link.is_some() { 0 } else { 2 });
        header.set_mode(0o644);
        let (kind, data): (_, &[u8]) = match link {
            Some(_) => (::tar::EntryType::Symlink, &[]),
            None => (::tar::EntryType::Regular, b"hi"),
        };
        header.set_entry_type(kind);
        if let Some(target) = link {
            header.set_link_name(target).unwrap();
        }
        // Written by hand so that hostile names get through the builder's own checks.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        builder.append(&header, data).unwrap();
        builder.into_inner().unwrap()
    }

    fn check(bytes: &[u8]) -> Result<u64, BundleError> {
        let mut inspector = TarInspector::new(Limits::default());
        inspector.feed(bytes)?;
        inspector.finish()
    }

    #[test]
    fn it_applies_the_bundle_rules_to_plain_tar() {
        assert_eq!(check(&archive("data/a.txt", None)), Ok(1));
        assert!(matches!(check(&archive("../a.txt", None)), Err(BundleError::PathEscapes(_))));
        assert!(matches!(check(&archive("/etc/passwd", None)), Err(BundleError::PathEscapes(_))));
        assert!(matches!(check(&archive("data/l", Some("/etc"))), Err(BundleError::PathEscapes(_))));
        assert!(matches!(check(&archive("data/l", Some("../../x"))), Err(BundleError::PathEscapes(_))));
        assert_eq!(check(&archive("data/l", Some("../x"))), Ok(1));
        assert_eq!(check(&[0u8; 1024]), Ok(0), "an empty archive is fine");
        let whole = archive("data/a.txt", None);
        assert!(matches!(check(&whole[..700]), Err(BundleError::Truncated)));
        assert!(symlink_stays_inside("a/b", "../c") && !symlink_stays_inside("a", "/c"));
    }
}
