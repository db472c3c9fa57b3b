//! Bearer secrets (access/refresh tokens, device codes, invite codes): 256 random bits shown once
//! to their owner, stored only as a SHA-256 hash. The prefix says the kind, so a secret pasted in
//! the wrong place is refused before any lookup.
//!
//! Invite codes are time-ordered ([`Secret::time_ordered`]): they carry the time they were minted
//! in clear, and their stored hash starts with it, so a new one lands at the end of the hash's
//! unique index instead of on a random page (which, under a stream of invites, wrote one page of
//! the log per invite and made the writes' tail grow with the table: BENCHMARKS.md, "Writes").

use sha2::{Digest, Sha256};
use std::fmt;

/// The SHA-256 of a secret, hex-encoded: what storage keeps and looks up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    /// The hex SHA-256 of the whole secret; for a time-ordered secret, led by its time.
    pub fn of(secret: &str) -> Self {
        let digest = hex::encode(Sha256::digest(secret.as_bytes()));
        match minted_at(secret) {
            Some(time) => Self(format!("{time}{digest}")),
            None => Self(digest),
        }
    }
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// A freshly minted secret. `Debug` hides it; only `expose` reveals it, to send it to its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// `<prefix>_<64 hex chars>` from 32 random bytes.
    pub fn new(prefix: &str, bytes: [u8; 32]) -> Self {
        Self(format!("{prefix}_{}", hex::encode(bytes)))
    }
    /// `<prefix>_<12 hex chars: Unix milliseconds><64 hex chars>` from 32 random bytes: a secret
    /// whose hash sorts by when it was minted (see [`SecretHash::of`]). The time adds nothing to
    /// guess: the 256 random bits are the secret.
    pub fn time_ordered(prefix: &str, unix_millis: i64, bytes: [u8; 32]) -> Self {
        let millis = u64::try_from(unix_millis).unwrap_or(0) & TIME_MASK;
        Self(format!("{prefix}_{millis:0width$x}{}", hex::encode(bytes), width = TIME_HEX))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

/// Hex digits of a time-ordered secret's time (48 bits of milliseconds: until the year 10889).
const TIME_HEX: usize = 12;
const TIME_MASK: u64 = (1 << 48) - 1;

/// The time part of a time-ordered secret: after the prefix, 12 + 64 lower-case hex digits.
fn minted_at(secret: &str) -> Option<&str> {
    let (_, body) = secret.split_once('_')?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (body.len() == TIME_HEX + 64 && body.bytes().all(hex)).then(|| &body[..TIME_HEX])
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Secret prefixes, one per kind.
pub mod prefix {
    pub const ACCESS: &str = "bfa";
    pub const REFRESH: &str = "bfr";
    pub const DEVICE: &str = "bfd";
    pub const INVITE: &str = "bfi";
    pub const CSRF: &str = "bfc";
    pub const RUNTIME: &str = "bfrt";
}

/// The short code a person types to approve a device: 8 letters from an alphabet without
/// look-alikes, shown as `ABCD-EFGH`. Normalised (upper-cased, dash and spaces dropped) before hashing.
pub fn user_code(bytes: [u8; 32]) -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let letters: String = bytes[..8].iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// Canonical form of a typed user code: upper case, without separators.
pub fn normalise_user_code(input: &str) -> String {
    input.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hide_in_debug_and_hash_stably() {
        let s = Secret::new(prefix::ACCESS, [7; 32]);
        assert!(s.expose().starts_with("bfa_"));
        assert_eq!(s.expose().len(), 4 + 64);
        assert!(!format!("{s:?}").contains(&s.expose()[4..]));
        assert_eq!(s.hash(), SecretHash::of(s.expose()));
    }

    /// A time-ordered secret's hash starts with its time, so later ones sort after earlier ones;
    /// any other secret (every one minted before them) keeps its plain hash.
    #[test]
    fn time_ordered_secrets_hash_in_minting_order() {
        let early = Secret::time_ordered(prefix::INVITE, 1_700_000_000_000, [9; 32]);
        let late = Secret::time_ordered(prefix::INVITE, 1_700_000_000_001, [1; 32]);
        assert_eq!(early.expose().len(), 4 + 12 + 64);
        assert!(early.hash().as_str() < late.hash().as_str());
        assert_eq!(early.hash().as_str().len(), 12 + 64);
        assert_eq!(&early.hash().as_str()[..12], &early.expose()[4..16]);
        assert_eq!(&early.hash().as_str()[12..], hex::encode(Sha256::digest(early.expose().as_bytes())));
        assert_eq!(early.hash(), SecretHash::of(early.expose()));

        let plain = Secret::new(prefix::INVITE, [9; 32]);
        assert_eq!(plain.hash().as_str(), hex::encode(Sha256::digest(plain.expose().as_bytes())));
        // Upper-case hex or another length is not a time-ordered secret: its hash is the plain one.
        let shouting = early.expose().to_uppercase().replacen("BFI", "bfi", 1);
        assert_eq!(SecretHash::of(&shouting).as_str().len(), 64);
        assert_eq!(SecretHash::of("bfi_").as_str().len(), 64);
        assert_eq!(SecretHash::of("no-prefix").as_str().len(), 64);
    }

    #[test]
    fn user_codes_normalise() {
        let code = user_code([3; 32]);
        assert_eq!(code.len(), 9);
        assert_eq!(normalise_user_code(&code.to_lowercase()), code.replace('-', ""));
    }
}
