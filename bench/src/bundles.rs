//! Template bundles for the upload benchmark: a large `.tar.gz` of incompressible pseudo-random
//! bytes (so the compressed size stays close to the content size), written to a file, and a tiny
//! one in memory. Also the few numbers the report derives from builds' timestamps.

use anyhow::Context;
use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// splitmix64 output: deflate finds nothing to compress in it.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for chunk in buf[..n].chunks_mut(8) {
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes a tar.gz holding one file, `noise.bin`, of `content_bytes` pseudo-random bytes, and
/// returns the archive's size. Gzip level 1: random data comes out the same size at any level.
pub fn write_large(path: &Path, content_bytes: u64, seed: u64) -> anyhow::Result<u64> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let gzip = GzEncoder::new(BufWriter::new(file), Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    let mut header = tar::Header::new_gnu();
    header.set_size(content_bytes);
    header.set_mode(0o644);
    tar.append_data(&mut header, "noise.bin", Noise { state: seed, left: content_bytes })?;
    let mut out = tar.into_inner()?.finish()?;
    out.flush()?;
    drop(out);
    Ok(std::fs::metadata(path)?.len())
}

/// A tar.gz of one short text file, numbered so that no two are the same.
pub fn tiny(index: u32) -> anyhow::Result<Vec<u8>> {
    let text = format!("bundle {index} of the build-throughput benchmark\n");
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "hello.txt", text.as_bytes())?;
    Ok(tar.into_inner()?.finish()?)
}

/// An RFC 3339 timestamp of the API.
pub fn instant(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(raw).with_context(|| format!("reading the timestamp {raw:?}"))?.with_timezone(&Utc))
}

/// Seconds from `from` to `to` (negative if `to` is earlier).
pub fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_does_not_compress_and_the_archive_stays_close_to_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large.tar.gz");
        let size = write_large(&path, 1 << 20, 7).unwrap();
        assert!(size > 1 << 20 && size < (1 << 20) + 8192, "{size}");
    }

    #[test]
    fn tiny_bundles_differ() {
        assert_ne!(tiny(1).unwrap(), tiny(2).unwrap());
    }
}
