//! A body cut into the parts of an R2 multipart upload, read as it arrives: every part but the
//! last has the same size (R2 requires it, and at least 5 MiB), so at most one part (plus the
//! chunk that overflowed it) is in memory at a time. The size limit is enforced while reading:
//! the first chunk past it ends the reading with `TooLarge`.

use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;

/// R2's smallest part (every part but the last).
pub(crate) const MIN_PART: usize = 5 * 1024 * 1024;
/// R2's largest part number.
pub(crate) const MAX_PARTS: u64 = 10_000;
/// Room for the chunk that overflows a part, so filling one rarely reallocates.
const SLACK: usize = 64 * 1024;

/// The part size for a body of at most `limit` bytes: [`MIN_PART`], or larger when the limit
/// would otherwise need more than [`MAX_PARTS`] parts.
pub(crate) fn part_size(limit: u64) -> usize {
    let needed = usize::try_from(limit.div_ceil(MAX_PARTS)).unwrap_or(usize::MAX);
    needed.max(MIN_PART)
}

/// A body read part by part.
pub(crate) struct Parts<'a> {
    body: &'a mut dyn ByteStream,
    limit: u64,
    size: usize,
    /// What was read and not yet handed out.
    buffered: Vec<u8>,
    read: u64,
    ended: bool,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(body: &'a mut dyn ByteStream, limit: u64, size: usize) -> Self {
        Self { body, limit, size, buffered: Vec::new(), read: 0, ended: false }
    }

    /// How many bytes of the body were read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read
    }

    /// The next part, and whether it is the last: a part of exactly the part size, or what is
    /// left once the body ended (possibly empty, for an empty body). A part is handed out only
    /// once it is known whether more follows, so the last part is never mistaken for a middle one.
    pub(crate) async fn next(&mut self) -> PortResult<(Vec<u8>, bool)> {
        while !self.ended && self.buffered.len() <= self.size {
            let Some(chunk) = self.body.next_chunk().await? else {
                self.ended = true;
                break;
            };
            self.read += chunk.len() as u64;
            if self.read > self.limit {
                self.buffered = Vec::new();
                return Err(PortError::TooLarge { limit: self.limit });
            }
            if self.buffered.is_empty() {
                // A small limit (a build log's) never needs a whole part.
                let part = usize::try_from(self.limit).map_or(self.size, |limit| limit.min(self.size));
                self.buffered.reserve(part + SLACK);
            }
            self.buffered.extend_from_slice(&chunk);
        }
        if self.buffered.len() <= self.size {
            return Ok((std::mem::take(&mut self.buffered), true));
        }
        let mut rest = Vec::with_capacity(self.size + SLACK);
        rest.extend_from_slice(&self.buffered[self.size..]);
        self.buffered.truncate(self.size);
        Ok((std::mem::replace(&mut self.buffered, rest), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use futures_util::FutureExt;

    /// Chunks handed out one by one, counting the reads; endless when `repeat` is set.
    struct Chunks {
        chunks: Vec<Vec<u8>>,
        reads: usize,
        repeat: bool,
    }

    #[async_trait]
    impl ByteStream for Chunks {
        async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
            self.reads += 1;
            match (self.repeat, self.chunks.first()) {
                (true, Some(c)) => Ok(Some(c.clone())),
                _ if self.chunks.is_empty() => Ok(None),
                _ => Ok(Some(self.chunks.remove(0))),
            }
        }
    }

    fn chunks(sizes: &[usize]) -> Chunks {
        let mut n = 0u8;
        let chunks = sizes
            .iter()
            .map(|&s| {
                (0..s)
                    .map(|_| {
                        n = n.wrapping_add(7);
                        n
                    })
                    .collect()
            })
            .collect();
        Chunks { chunks, reads: 0, repeat: false }
    }

    /// Every part of `body` (size 4, the given limit), with its last-flag.
    fn parts(body: &mut Chunks, limit: u64) -> PortResult<Vec<(Vec<u8>, bool)>> {
        let mut parts = Parts::new(body, limit, 4);
        let mut out = Vec::new();
        loop {
            let (part, last) = parts.next().now_or_never().expect("in memory")?;
            out.push((part, last));
            if last {
                return Ok(out);
            }
        }
    }

    #[test]
    fn parts_have_one_size_but_the_last_and_keep_every_byte() {
        let mut body = chunks(&[3, 0, 6, 1, 2]);
        let all: Vec<u8> = body.chunks.concat();
        let got = parts(&mut body, 100).unwrap();
        assert_eq!(got.iter().map(|(p, l)| (p.len(), *l)).collect::<Vec<_>>(), [(4, false), (4, false), (4, true)]);
        assert_eq!(got.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>().concat(), all);
    }

    #[test]
    fn a_body_that_fills_its_parts_exactly_ends_with_a_full_last_part() {
        let got = parts(&mut chunks(&[4, 4]), 100).unwrap();
        assert_eq!(got.iter().map(|(p, l)| (p.len(), *l)).collect::<Vec<_>>(), [(4, false), (4, true)]);
        let got = parts(&mut chunks(&[2]), 100).unwrap();
        assert_eq!(got.iter().map(|(p, l)| (p.len(), *l)).collect::<Vec<_>>(), [(2, true)], "one small part");
        assert_eq!(parts(&mut chunks(&[]), 100).unwrap(), [(Vec::new(), true)], "an empty body");
    }

    #[test]
    fn reading_stops_at_the_first_chunk_past_the_limit() {
        let mut endless = Chunks { chunks: vec![vec![0; 3]], reads: 0, repeat: true };
        assert_eq!(parts(&mut endless, 10), Err(PortError::TooLarge { limit: 10 }));
        assert_eq!(endless.reads, 4, "12 bytes read, none after");
        assert_eq!(parts(&mut chunks(&[5, 5]), 10).map(|p| p.len()), Ok(3), "exactly the limit is fine");
    }

    #[test]
    fn part_sizes_respect_r2s_bounds() {
        assert_eq!(part_size(512 << 20), MIN_PART);
        assert_eq!(part_size(0), MIN_PART);
        let huge = 100u64 << 30;
        assert!(part_size(huge) as u64 * MAX_PARTS >= huge && part_size(huge) > MIN_PART);
    }
}
