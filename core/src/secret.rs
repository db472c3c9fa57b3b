//! Bearer secrets (access/refresh tokens, device codes, invite codes): 256 random bits shown once
//! to their owner, stored only as a SHA-256 hash. The prefix says the kind, so a secret pasted in
//! the wrong place is refused before any lookup.

use sha2::{Digest, Sha256};
use std::fmt;

/// The SHA-256 of a secret, hex-encoded: what storage keeps and looks up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
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
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
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

    #[test]
    fn user_codes_normalise() {
        let code = user_code([3; 32]);
        assert_eq!(code.len(), 9);
        assert_eq!(normalise_user_code(&code.to_lowercase()), code.replace('-', ""));
    }
}
