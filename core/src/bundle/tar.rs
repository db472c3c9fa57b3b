//! An incremental tar scanner: takes the inflated stream in pieces of any size, parses each
//! 512-byte header (ustar, GNU and PAX), checks names and links, skips file contents and keeps
//! only the manifest and small extension records.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{BundleError, Limits, MANIFEST_NAME};

const BLOCK: usize = 512;
/// The largest PAX record set or GNU long name kept in memory.
const MAX_EXTENSION_BYTES: u64 = 64 * 1024;

enum State {
    /// Collecting a header block.
    Header,
    /// One zero block seen; the next block must be zero too.
    SecondZero,
    /// Skipping this many bytes of content and padding.
    Skip(u64),
    /// Keeping `left` more content bytes for `what`, then skipping `pad`.
    Keep { what: Kept, left: u64, pad: u64 },
    /// After the end-of-archive marker: only zero padding may follow.
    End,
}

#[derive(Clone, Copy)]
enum Kept {
    Pax,
    LongName,
    LongLink,
    Manifest,
}

/// Overrides from PAX (`x`) and GNU (`L`, `K`) headers for the next entry.
#[derive(Default)]
struct Pending {
    path: Option<String>,
    link: Option<String>,
    size: Option<u64>,
}

pub(super) struct TarScanner {
    limits: Limits,
    state: State,
    block: [u8; BLOCK],
    filled: usize,
    kept: Vec<u8>,
    pending: Pending,
    /// Hashes of every symlink's normalised path, to refuse entries that would go through one.
    symlinks: HashSet<u64>,
    pub files: u64,
    pub directories: u64,
    pub links: u64,
    pub unpacked: u64,
    pub manifest: Option<Vec<u8>>,
}

impl TarScanner {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: State::Header,
            block: [0; BLOCK],
            filled: 0,
            kept: Vec::new(),
            pending: Pending::default(),
            symlinks: HashSet::new(),
            files: 0,
            directories: 0,
            links: 0,
            unpacked: 0,
            manifest: None,
        }
    }

    pub fn write(&mut self, mut data: &[u8]) -> Result<(), BundleError> {
        while !data.is_empty() {
            match &mut self.state {
                State::Header | State::SecondZero => {
                    let n = data.len().min(BLOCK - self.filled);
                    self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    data = &data[n..];
                    if self.filled == BLOCK {
                        self.filled = 0;
                        self.header_block()?;
                    }
                }
                State::Skip(left) => {
                    let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = State::Header;
                    }
                    data = &data[n..];
                }
                State::Keep { what, left, pad } => {
                    let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    self.kept.extend_from_slice(&data[..n]);
                    *left -= n as u64;
                    data = &data[n..];
                    if *left == 0 {
                        let (what, pad) = (*what, *pad);
                        self.state = skip(pad);
                        self.kept_done(what)?;
                    }
                }
                State::End if data.iter().any(|&b| b != 0) => {
                    return Err(BundleError::Corrupt("data after the end-of-archive marker".into()))
                }
                State::End => data = &[],
            }
        }
        Ok(())
    }

    /// Checks that the stream stopped where a tar archive may stop. Returns whether the
    /// end-of-archive marker was there (a clean stop at an entry boundary without it is tolerated).
    pub fn finish(&self) -> Result<bool, BundleError> {
        let pending = &self.pending;
        let idle = self.filled == 0 && pending.path.is_none() && pending.link.is_none() && pending.size.is_none();
        match self.state {
            State::End | State::SecondZero if self.filled == 0 => Ok(true),
            State::Header if idle => Ok(false),
            _ => Err(BundleError::Truncated),
        }
    }

    fn header_block(&mut self) -> Result<(), BundleError> {
        let zero = self.block.iter().all(|&b| b == 0);
        match (&self.state, zero) {
            (State::SecondZero, true) => self.state = State::End,
            (State::SecondZero, false) => return Err(BundleError::Corrupt("entry after a zero block".into())),
            (_, true) => self.state = State::SecondZero,
            (_, false) => self.entry()?,
        }
        Ok(())
    }

    fn entry(&mut self) -> Result<(), BundleError> {
        let h = &self.block;
        let raw_name = header_path(h);
        let shown = self.pending.path.as_deref().unwrap_or(&raw_name);
        verify_checksum(h).map_err(|e| corrupt(shown, &e))?;
        let size = parse_number(&h[124..136]).map_err(|e| corrupt(shown, &format!("size field {e}")))?;
        let kept = match h[156] {
            b'x' => Kept::Pax,
            b'L' => Kept::LongName,
            b'K' => Kept::LongLink,
            b'g' => {
                self.state = skip(padded(size)?);
                return Ok(());
            }
            kind => {
                let pending = std::mem::take(&mut self.pending);
                let path = pending.path.unwrap_or(raw_name);
                let link = pending.link.unwrap_or_else(|| lossy(field(&h[157..257])));
                return self.member(kind, &path, &link, pending.size.unwrap_or(size));
            }
        };
        if size > MAX_EXTENSION_BYTES {
            return Err(corrupt(shown, &format!("extension header of {size} bytes")));
        }
        self.keep(kept, size)
    }

    /// A file, directory or link (or a refused type) whose content of `size` bytes follows.
    fn member(&mut self, kind: u8, path: &str, link: &str, size: u64) -> Result<(), BundleError> {
        let name = normalise(path).ok_or_else(|| BundleError::PathEscapes(path.to_string()))?;
        let file = matches!(kind, b'0' | 0 | b'7');
        let directory = kind == b'5' || (file && path.ends_with('/'));
        if name.is_empty() && !directory {
            return Err(corrupt(path, "an entry with an empty name"));
        }
        if self.through_symlink(&name) {
            return Err(BundleError::PathEscapes(format!("{name} (goes through or replaces a symlink)")));
        }
        if self.files + self.directories + self.links >= self.limits.max_entries {
            return Err(BundleError::TooManyEntries(self.limits.max_entries));
        }
        if name == MANIFEST_NAME && (directory || !file) {
            return Err(BundleError::UnsupportedEntry(format!("{name} (the manifest must be a regular file)")));
        }
        match kind {
            _ if directory => self.directories += 1,
            _ if file => {
                self.files += 1;
                self.unpacked = self.unpacked.saturating_add(size);
                if self.unpacked > self.limits.max_unpacked_bytes {
                    return Err(BundleError::TooLarge(self.limits.max_unpacked_bytes));
                }
                if name == MANIFEST_NAME {
                    if size > self.limits.max_manifest_bytes {
                        return Err(BundleError::ManifestTooLarge);
                    }
                    return self.keep(Kept::Manifest, size);
                }
            }
            b'1' => {
                let escapes = || BundleError::PathEscapes(format!("{name} -> {link} (hard link)"));
                let target = normalise(link).ok_or_else(escapes)?;
                // A hard link to a symlink copies the symlink, whose target then resolves elsewhere.
                if target.is_empty() || self.through_symlink(&target) {
                    return Err(escapes());
                }
                self.links += 1;
            }
            b'2' => {
                check_symlink(&name, link)?;
                self.symlinks.extend(prefix_keys(&name).last());
                self.links += 1;
            }
            _ => {
                let what = match kind {
                    b'3' => "character device".to_string(),
                    b'4' => "block device".to_string(),
                    b'6' => "fifo".to_string(),
                    other => format!("entry type `{}`", other.escape_ascii()),
                };
                return Err(BundleError::UnsupportedEntry(format!("{name} ({what})")));
            }
        }
        self.state = skip(padded(size)?);
        Ok(())
    }

    /// Whether `name` or one of its ancestors is an earlier symlink.
    fn through_symlink(&self, name: &str) -> bool {
        !self.symlinks.is_empty() && prefix_keys(name).any(|key| self.symlinks.contains(&key))
    }

    fn keep(&mut self, what: Kept, size: u64) -> Result<(), BundleError> {
        self.kept.clear();
        let pad = padded(size)? - size;
        self.state = if size == 0 { skip(pad) } else { State::Keep { what, left: size, pad } };
        if size == 0 {
            self.kept_done(what)?;
        }
        Ok(())
    }

    fn kept_done(&mut self, what: Kept) -> Result<(), BundleError> {
        let kept = std::mem::take(&mut self.kept);
        match what {
            Kept::Manifest => self.manifest = Some(kept),
            Kept::LongName => self.pending.path = Some(lossy(field(&kept))),
            Kept::LongLink => self.pending.link = Some(lossy(field(&kept))),
            Kept::Pax => parse_pax(&kept, &mut self.pending)?,
        }
        Ok(())
    }
}

fn skip(bytes: u64) -> State {
    if bytes == 0 {
        State::Header
    } else {
        State::Skip(bytes)
    }
}

fn padded(size: u64) -> Result<u64, BundleError> {
    size.checked_next_multiple_of(BLOCK as u64).ok_or_else(|| corrupt("entry", "size overflows"))
}

fn corrupt(entry: &str, what: &str) -> BundleError {
    BundleError::Corrupt(format!("{entry}: {what}"))
}

/// The stored checksum must equal the sum of the header's (unsigned) bytes, its own field read
/// as spaces.
fn verify_checksum(h: &[u8; BLOCK]) -> Result<(), String> {
    let stored = parse_number(&h[148..156]).map_err(|e| format!("checksum field {e}"))?;
    let sum: u64 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
    if stored != sum {
        return Err("header checksum mismatch".into());
    }
    Ok(())
}

/// A NUL-terminated header field.
fn field(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `name`, behind the ustar `prefix` when the header is POSIX ustar (GNU headers keep times there).
fn header_path(h: &[u8; BLOCK]) -> String {
    let name = lossy(field(&h[0..100]));
    let prefix = field(&h[345..500]);
    if &h[257..263] == b"ustar\0" && !prefix.is_empty() {
        format!("{}/{name}", lossy(prefix))
    } else {
        name
    }
}

/// An octal number (space or NUL padded), or GNU base-256 when the high bit of the first byte is set.
fn parse_number(bytes: &[u8]) -> Result<u64, &'static str> {
    if bytes[0] & 0x80 != 0 {
        if bytes[0] == 0xff {
            return Err("is negative");
        }
        return bytes[1..].iter().try_fold(u64::from(bytes[0] & 0x7f), |n, &b| {
            n.checked_mul(256).map(|n| n | u64::from(b)).ok_or("overflows")
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "is not octal")?;
    let digits = text.trim_matches(|c| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8).map_err(|_| "is not octal")
}

/// `path` without `.` and empty components; `None` when absolute or with a `..` component.
fn normalise(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let escapes = path.starts_with('/') || path.contains('\0') || parts.contains(&"..");
    (!escapes).then(|| parts.join("/"))
}

/// One key per ancestor of a normalised path and the path itself, shallowest first. The hasher's
/// keys are fixed, so a crafted collision can only make a bundle refuse itself.
fn prefix_keys(name: &str) -> impl Iterator<Item = u64> + '_ {
    let mut hasher = DefaultHasher::new();
    name.split('/').map(move |part| {
        part.hash(&mut hasher);
        hasher.finish()
    })
}

/// A symlink target is resolved from the link's directory. Leading `..` may climb no higher than
/// the root; a `..` after a name is refused, since that name may itself be a link elsewhere.
pub(super) fn check_symlink(name: &str, target: &str) -> Result<(), BundleError> {
    let escapes = || BundleError::PathEscapes(format!("{name} -> {target} (symlink)"));
    if target.is_empty() {
        return Err(corrupt(name, "symlink with an empty target"));
    }
    if target.starts_with('/') || target.contains('\0') {
        return Err(escapes());
    }
    let mut depth = name.matches('/').count();
    let mut named = false;
    for part in target.split('/').filter(|c| !c.is_empty() && *c != ".") {
        match part {
            ".." if named => return Err(escapes()),
            ".." => depth = depth.checked_sub(1).ok_or_else(escapes)?,
            _ => named = true,
        }
    }
    Ok(())
}

/// PAX records, `"<len> <key>=<value>\n"`. Only `path`, `linkpath` and `size` matter here.
fn parse_pax(mut data: &[u8], pending: &mut Pending) -> Result<(), BundleError> {
    let bad = |what: &str| corrupt("PAX header", what);
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(|| bad("record without a length"))?;
        let len: usize =
            std::str::from_utf8(&data[..space]).ok().and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad length"))?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad("bad record length"));
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(|| bad("record without `=`"))?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => pending.path = Some(lossy(value)),
            b"linkpath" => pending.link = Some(lossy(value)),
            b"size" => {
                let size =
                    std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad size"))?;
                pending.size = Some(size);
            }
            key if key.starts_with(b"GNU.sparse.") => {
                return Err(BundleError::UnsupportedEntry("a sparse file (PAX GNU.sparse records)".into()))
            }
            _ => {}
        }
        data = &data[len..];
    }
    Ok(())
}
