//! A push-style gzip decoder (RFC 1952) around flate2's raw inflate: it parses the member header
//! and trailer itself so it can tell a truncated stream from a corrupt one, and it hands the output
//! on in steps of at most [`STEP`] bytes, so the caller can stop a gzip bomb after any step.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::BundleError;

/// The most inflated bytes produced before the sink is called again.
const STEP: usize = 32 * 1024;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The 10 fixed header bytes; the index of the next one.
    Fixed(usize),
    ExtraLen(usize),
    Extra(u16),
    Name,
    Comment,
    HeaderCrc(usize),
    Deflate,
    /// CRC-32 and ISIZE; the index of the next byte.
    Trailer(usize),
    /// A member ended cleanly; more bytes may start another one.
    Between,
}

pub(super) struct Gunzip {
    stage: Stage,
    /// Optional header fields announced by FLG and not read yet.
    flags: u8,
    small: [u8; 8],
    header_crc: Crc,
    inflate: Decompress,
    crc: Crc,
    out: Vec<u8>,
    pub members: u64,
}

impl Gunzip {
    pub fn new() -> Self {
        Self {
            stage: Stage::Fixed(0),
            flags: 0,
            small: [0; 8],
            header_crc: Crc::new(),
            inflate: Decompress::new(false),
            crc: Crc::new(),
            out: vec![0; STEP],
            members: 0,
        }
    }

    /// Decodes `input`, calling `sink` with each step of inflated bytes.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut sink: impl FnMut(&[u8]) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        loop {
            if self.stage == Stage::Deflate {
                let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
                let status = self
                    .inflate
                    .decompress(input, &mut self.out, FlushDecompress::None)
                    .map_err(|e| BundleError::Corrupt(format!("deflate data: {e}")))?;
                let used = (self.inflate.total_in() - before_in) as usize;
                let produced = (self.inflate.total_out() - before_out) as usize;
                input = &input[used..];
                self.crc.update(&self.out[..produced]);
                sink(&self.out[..produced])?;
                if status == Status::StreamEnd {
                    self.stage = Stage::Trailer(0);
                } else if input.is_empty() && produced < STEP {
                    return Ok(());
                } else if used == 0 && produced == 0 {
                    return Err(BundleError::Corrupt("deflate data: decoder made no progress".into()));
                }
            } else if let Some((&byte, rest)) = input.split_first() {
                input = rest;
                self.framing_byte(byte)?;
            } else {
                return Ok(());
            }
        }
    }

    /// Succeeds only when the stream ended right after a member's trailer.
    pub fn finish(&self) -> Result<(), BundleError> {
        match self.stage {
            Stage::Between => Ok(()),
            Stage::Fixed(0) if self.members == 0 => Err(BundleError::NotGzip),
            _ => Err(BundleError::Truncated),
        }
    }

    /// One byte of a member's header or trailer.
    fn framing_byte(&mut self, byte: u8) -> Result<(), BundleError> {
        if !matches!(self.stage, Stage::HeaderCrc(_) | Stage::Trailer(_) | Stage::Between) {
            self.header_crc.update(&[byte]);
        }
        self.stage = match self.stage {
            Stage::Between => {
                self.header_crc.reset();
                self.header_crc.update(&[byte]);
                self.fixed(0, byte)?
            }
            Stage::Fixed(i) => self.fixed(i, byte)?,
            Stage::ExtraLen(0) => {
                self.small[0] = byte;
                Stage::ExtraLen(1)
            }
            Stage::ExtraLen(_) => match u16::from_le_bytes([self.small[0], byte]) {
                0 => self.next_field(),
                len => Stage::Extra(len),
            },
            Stage::Extra(1) => self.next_field(),
            Stage::Extra(left) => Stage::Extra(left - 1),
            Stage::Name | Stage::Comment if byte == 0 => self.next_field(),
            stage @ (Stage::Name | Stage::Comment) => stage,
            Stage::HeaderCrc(0) => {
                self.small[0] = byte;
                Stage::HeaderCrc(1)
            }
            Stage::HeaderCrc(_) => {
                if u16::from_le_bytes([self.small[0], byte]) != self.header_crc.sum() as u16 {
                    return Err(BundleError::Corrupt("gzip header checksum mismatch".into()));
                }
                self.next_field()
            }
            Stage::Trailer(i) if i < 7 => {
                self.small[i] = byte;
                Stage::Trailer(i + 1)
            }
            Stage::Trailer(_) => {
                self.small[7] = byte;
                self.check_trailer()?;
                Stage::Between
            }
            Stage::Deflate => unreachable!("deflate bytes go to the inflater"),
        };
        Ok(())
    }

    fn fixed(&mut self, i: usize, byte: u8) -> Result<Stage, BundleError> {
        match (i, byte) {
            (0, 0x1f) | (1, 0x8b) | (2, 8) => {}
            (0 | 1, _) if self.members == 0 => return Err(BundleError::NotGzip),
            (0 | 1, _) => return Err(BundleError::Corrupt("data after the gzip stream".into())),
            (2, method) => {
                return Err(BundleError::Corrupt(format!("gzip compression method {method} is not deflate")))
            }
            (3, flags) if flags & 0xe0 != 0 => return Err(BundleError::Corrupt("reserved gzip flags set".into())),
            (3, flags) => self.flags = flags,
            _ => {}
        }
        Ok(if i < 9 { Stage::Fixed(i + 1) } else { self.next_field() })
    }

    /// The next optional header field still announced, in RFC 1952 order, or the deflate data.
    fn next_field(&mut self) -> Stage {
        let (stage, flag) = [
            (Stage::ExtraLen(0), FEXTRA),
            (Stage::Name, FNAME),
            (Stage::Comment, FCOMMENT),
            (Stage::HeaderCrc(0), FHCRC),
        ]
        .into_iter()
        .find(|(_, flag)| self.flags & flag != 0)
        .unwrap_or((Stage::Deflate, 0));
        self.flags &= !flag;
        stage
    }

    fn check_trailer(&mut self) -> Result<(), BundleError> {
        let crc = u32::from_le_bytes([self.small[0], self.small[1], self.small[2], self.small[3]]);
        let size = u32::from_le_bytes([self.small[4], self.small[5], self.small[6], self.small[7]]);
        if crc != self.crc.sum() || size != self.crc.amount() {
            return Err(BundleError::Corrupt("gzip CRC-32 or length mismatch".into()));
        }
        self.members += 1;
        self.crc.reset();
        self.inflate.reset(false);
        Ok(())
    }
}
