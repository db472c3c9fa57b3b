//! Checks an uploaded template bundle (`.tar.gz`) as it streams in from object storage, without
//! ever holding the archive or its unpacked content: compressed chunks go to [`BundleInspector::feed`],
//! [`BundleInspector::finish`] returns a [`BundleReport`] or the first [`BundleError`].
//!
//! Memory stays bounded whatever the input: a 32 KiB inflate step, one 512-byte tar block, PAX
//! records and GNU long names up to 64 KiB, the manifest up to [`Limits::max_manifest_bytes`], and
//! one 64-bit hash per symlink.
//!
//! Policy, where the formats leave a choice:
//! - gzip: several concatenated members are accepted (as `gunzip` does); every member's header
//!   CRC (when present), CRC-32 and length are verified. Bytes after the last member that do not
//!   start another member are corrupt. A stream that stops inside a member is [`BundleError::Truncated`].
//! - tar: ustar, GNU and PAX headers; `x` records give `path`, `linkpath` and `size`, `g` records
//!   are ignored, `L`/`K` give long names. Header checksums are verified. After the two zero blocks
//!   only zero padding may follow (a lone zero block at the very end is accepted, as GNU tar
//!   does). A missing end-of-archive marker is tolerated only when the gzip
//!   stream ended cleanly right at an entry boundary; a stop anywhere else is `Truncated`.
//! - Names: leading `./` and `.` components are dropped; absolute names and any `..` component are
//!   refused. Hard-link targets are archive paths and follow the same rule. Symlink targets must be
//!   relative and stay inside the root when resolved from the link's directory; `..` is allowed only
//!   as leading components. No entry may go through or replace an earlier symlink, and no hard link
//!   may point at one, so chains of links cannot leave the root either.
//! - An archive with no entry at all (a gzip of nothing, or only the end-of-archive marker) is
//!   [`BundleError::Empty`]: a bundle holds at least one file, directory or link.
//! - Entries: regular files, directories, symlinks and hard links; devices, fifos, sparse files and
//!   any other type are [`BundleError::UnsupportedEntry`]. Names are read as UTF-8 (lossily).
//! - Limits: entry count and the sum of file sizes are checked when each header arrives (before its
//!   content); the ratio of inflated tar bytes to compressed bytes fed so far after every inflate
//!   step once more than
//!   [`RATIO_GRACE_BYTES`] came out, so a bomb stops after a few MiB however big it would grow.
//! - The manifest is a regular file named `burstflare.json` at the root; if it appears twice, the
//!   last copy wins, as it would when extracted.

mod gzip;
mod plain_tar;
mod tar;
#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};

pub use self::plain_tar::{symlink_stays_inside, TarInspector};

use self::gzip::Gunzip;
use self::tar::TarScanner;

/// The manifest's name at the bundle root.
pub const MANIFEST_NAME: &str = "burstflare.json";

/// Inflated bytes allowed before the ratio limit applies, so tiny archives (whose zero padding
/// compresses very well) are not refused.
pub const RATIO_GRACE_BYTES: u64 = 1024 * 1024;

/// What a bundle may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The sum of the regular files' sizes.
    pub max_unpacked_bytes: u64,
    /// Files, directories and links together.
    pub max_entries: u64,
    /// Inflated tar stream bytes per compressed byte.
    pub max_ratio: u64,
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 512 * 1024 * 1024,
            max_entries: 20_000,
            max_ratio: 100,
            max_manifest_bytes: 64 * 1024,
        }
    }
}

/// What a valid bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    /// SHA-256 of the compressed bytes, lowercase hex.
    pub sha256_hex: String,
    pub compressed_bytes: u64,
    pub files: u64,
    pub directories: u64,
    /// Symlinks and hard links.
    pub links: u64,
    /// The sum of the regular files' sizes.
    pub unpacked_bytes: u64,
    /// The contents of `burstflare.json` at the root, if present.
    pub manifest: Option<Vec<u8>>,
    /// One human line per check made, for the build log.
    pub log: Vec<String>,
}

/// Why a bundle was refused. Each message names the offending entry where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a gzip file (a bundle is a .tar.gz)")]
    NotGzip,
    #[error("corrupt bundle: {0}")]
    Corrupt(String),
    #[error("bundle is empty: the archive holds no files, directories or links")]
    Empty,
    #[error("bundle is truncated: the stream ended before the archive did")]
    Truncated,
    #[error("path escapes the bundle root: {0}")]
    PathEscapes(String),
    #[error("unsupported entry: {0}")]
    UnsupportedEntry(String),
    #[error("bundle has more than {0} entries")]
    TooManyEntries(u64),
    #[error("bundle unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("compression ratio above {limit}: {inflated} bytes inflated from {compressed} (a gzip bomb?)")]
    RatioExceeded { limit: u64, compressed: u64, inflated: u64 },
    #[error("{MANIFEST_NAME} is larger than the manifest limit")]
    ManifestTooLarge,
}

/// Checks one bundle fed in chunks. After the first error every call returns that error.
pub struct BundleInspector {
    limits: Limits,
    hasher: Sha256,
    compressed: u64,
    inflated: u64,
    gunzip: Gunzip,
    scanner: TarScanner,
    failed: Option<BundleError>,
}

impl BundleInspector {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            hasher: Sha256::new(),
            compressed: 0,
            inflated: 0,
            gunzip: Gunzip::new(),
            scanner: TarScanner::new(limits),
            failed: None,
        }
    }

    /// Pushes the next compressed bytes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), BundleError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.hasher.update(chunk);
        self.compressed += chunk.len() as u64;
        let (compressed, limit) = (self.compressed, self.limits.max_ratio);
        let (inflated, scanner) = (&mut self.inflated, &mut self.scanner);
        let result = self.gunzip.feed(chunk, |data| {
            *inflated += data.len() as u64;
            if *inflated > RATIO_GRACE_BYTES && *inflated > limit.saturating_mul(compressed) {
                return Err(BundleError::RatioExceeded { limit, compressed, inflated: *inflated });
            }
            scanner.write(data)
        });
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// Checks that the bundle ended where it may end and reports what it holds.
    pub fn finish(self) -> Result<BundleReport, BundleError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        self.gunzip.finish()?;
        let end_marker = self.scanner.finish()?;
        let (limits, tar) = (self.limits, self.scanner);
        if tar.files + tar.directories + tar.links == 0 {
            return Err(BundleError::Empty);
        }
        let members = self.gunzip.members;
        let ratio = self.inflated as f64 / self.compressed.max(1) as f64;
        let log = vec![
            format!("gzip: ok ({} compressed bytes, {members} member(s), checksums verified)", self.compressed),
            match end_marker {
                true => "tar: ok (headers checksummed, end-of-archive marker present)".to_string(),
                false => "tar: ok (headers checksummed, no end-of-archive marker; stream ended cleanly)".to_string(),
            },
            format!(
                "entries: {} files, {} directories, {} links (limit {})",
                tar.files, tar.directories, tar.links, limits.max_entries
            ),
            "paths: none absolute, none with `..`, every link stays inside the root".to_string(),
            "types: only files, directories and links".to_string(),
            format!(
                "unpacked: {} bytes (limit {}); tar stream {} bytes (ratio {ratio:.1}, limit {})",
                tar.unpacked, limits.max_unpacked_bytes, self.inflated, limits.max_ratio
            ),
            match &tar.manifest {
                Some(bytes) => format!("manifest: {MANIFEST_NAME} found ({} bytes)", bytes.len()),
                None => format!("manifest: no {MANIFEST_NAME} at the root"),
            },
        ];
        Ok(BundleReport {
            sha256_hex: hex::encode(self.hasher.finalize()),
            compressed_bytes: self.compressed,
            files: tar.files,
            directories: tar.directories,
            links: tar.links,
            unpacked_bytes: tar.unpacked,
            manifest: tar.manifest,
            log,
        })
    }
}
