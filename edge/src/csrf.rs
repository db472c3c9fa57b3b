//! The browser's CSRF token, bound to its sign-in: `bfc_` + hex(HMAC-SHA256(key, family id)).
//! The family id is stable across refreshes and new for every sign-in, so the token survives a
//! refresh and is useless for any other sign-in. The server recomputes it from the credential it
//! authenticated, and compares it with the `x-burstflare-csrf` header; the CSRF cookie only carries
//! the value to the page, so a cookie planted by another origin proves nothing.

use axum::http::{HeaderMap, Method};
use burstflare_api::CSRF_HEADER;
use burstflare_core::ids::FamilyId;
use burstflare_core::secret::prefix;
use burstflare_core::{Code, Error};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The server secret the tokens are derived from.
#[derive(Clone)]
pub struct CsrfKey(Arc<[u8]>);

impl CsrfKey {
    /// A key of at least [`MIN_KEY_BYTES`] bytes; a shorter one is refused.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("the CSRF key must be at least {MIN_KEY_BYTES} bytes, got {}", bytes.len()));
        }
        Ok(Self(bytes.into()))
    }

    /// The token of the sign-in whose token family is `family`.
    pub fn token(&self, family: &FamilyId) -> String {
        format!("{}_{}", prefix::CSRF, hex::encode(self.mac(family).finalize().into_bytes()))
    }

    /// Whether `presented` is the token of `family` (compared in constant time).
    pub fn verify(&self, family: &FamilyId, presented: &str) -> bool {
        let Some(digest) = presented.strip_prefix(prefix::CSRF).and_then(|rest| rest.strip_prefix('_')) else {
            return false;
        };
        match hex::decode(digest) {
            Ok(digest) => self.mac(family).verify_slice(&digest).is_ok(),
            Err(_) => false,
        }
    }

    /// The per-session keys (SSH host keys, agent secrets, preview cookies), derived from the
    /// same server secret under their own label.
    pub fn session_keys(&self) -> burstflare_core::session_keys::SessionKeys {
        burstflare_core::session_keys::SessionKeys::new(&self.0)
    }

    fn mac(&self, family: &FamilyId) -> Hmac<Sha256> {
        // HMAC takes keys of any length; the constructor cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(b"burstflare-csrf-v1:");
        mac.update(family.as_str().as_bytes());
        mac
    }
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

/// Checks a cookie-authenticated request of `method` against the sign-in's `family`: reads
/// (GET, HEAD, OPTIONS) pass; anything else needs the header, or is 403 `csrf_failed`.
pub fn check(key: &CsrfKey, method: &Method, headers: &HeaderMap, family: &FamilyId) -> Result<(), Error> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    match headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        Some(presented) if key.verify(family, presented) => Ok(()),
        _ => Err(Error::new(
            Code::CsrfFailed,
            "Cookie-authenticated requests must send the sign-in's CSRF token in x-burstflare-csrf",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CsrfKey {
        CsrfKey::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn tokens_are_bound_to_the_family_and_the_key() {
        let family = FamilyId::from_raw("fam_1".to_string());
        let token = key(1).token(&family);
        assert!(token.starts_with("bfc_") && token.len() == 4 + 64, "{token}");
        assert!(key(1).verify(&family, &token));
        assert!(!key(2).verify(&family, &token), "another key");
        assert!(!key(1).verify(&FamilyId::from_raw("fam_2".to_string()), &token), "another sign-in");
        for bad in ["", "bfc_", "bfc_zz", &token[4..], &token[..token.len() - 2]] {
            assert!(!key(1).verify(&family, bad), "{bad}");
        }
    }

    #[test]
    fn short_keys_are_refused_and_never_printed() {
        assert!(CsrfKey::new(vec![0; 31]).is_err());
        assert_eq!(format!("{:?}", key(7)), "CsrfKey(<redacted>)");
    }
}
