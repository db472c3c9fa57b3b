//! Per-session key material derived from one server secret, so nothing per session is stored:
//! each session's SSH host key (stable across restarts, so a client pins it once) and the secret
//! its agent wants from the edge. Every value is an HMAC-SHA256 of the session id under a key
//! derived from the server secret with its own label, so one cannot be computed from another.

use crate::ids::SessionId;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

type HmacSha256 = Hmac<Sha256>;

/// The derivation key (never shown by `Debug`).
#[derive(Clone)]
pub struct SessionKeys(Arc<[u8; 32]>);

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl SessionKeys {
    /// Keys derived from a server secret (at least 32 bytes of randomness in practice).
    pub fn new(server_secret: &[u8]) -> Self {
        Self(Arc::new(hmac(server_secret, &[b"burstflare session keys v1"])))
    }

    /// The 32-byte Ed25519 seed of the session's SSH host key.
    pub fn host_key_seed(&self, session: &SessionId) -> [u8; 32] {
        hmac(self.0.as_slice(), &[b"ssh host key", session.to_string().as_bytes()])
    }

    /// The session's SSH host public key in OpenSSH form (`ssh-ed25519 AAAA…`), as a
    /// `known_hosts` line wants it.
    pub fn host_public_key(&self, session: &SessionId) -> String {
        openssh_ed25519_public(&self.host_key_seed(session))
    }

    /// The secret the session's agent wants from the edge, for one boot of the session
    /// (`generation` changes with every start, so an old agent's secret opens nothing new).
    pub fn agent_secret(&self, session: &SessionId, generation: &str) -> String {
        hex::encode(hmac(self.0.as_slice(), &[b"agent secret", session.to_string().as_bytes(), generation.as_bytes()]))
    }

    /// A preview pass: lets one user into one session's preview until `expires` (a signed value
    /// for a cookie of the preview's own origin; nothing is stored).
    pub fn preview_pass(&self, pass: &PreviewPass) -> String {
        let body = pass.body();
        format!("{body}.{}", hex::encode(hmac(self.0.as_slice(), &[b"preview pass", body.as_bytes()])))
    }

    /// The pass a value carries, if this server signed it and it has not expired at `now_ms`.
    pub fn verify_preview_pass(&self, value: &str, now_ms: i64) -> Option<PreviewPass> {
        let (body, mac) = value.rsplit_once('.')?;
        let mac = hex::decode(mac).ok()?;
        let mut check = HmacSha256::new_from_slice(self.0.as_slice()).expect("HMAC takes any key length");
        for part in [b"preview pass".as_slice(), body.as_bytes()] {
            check.update(&(part.len() as u64).to_be_bytes());
            check.update(part);
        }
        check.verify_slice(&mac).ok()?;
        let pass = PreviewPass::parse(body)?;
        (pass.expires_ms > now_ms).then_some(pass)
    }
}

/// Who may see which session's preview, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewPass {
    pub workspace: String,
    pub session: String,
    pub user: String,
    pub expires_ms: i64,
}

impl PreviewPass {
    fn body(&self) -> String {
        format!("v1.{}.{}.{}.{}", self.workspace, self.session, self.user, self.expires_ms)
    }

    fn parse(body: &str) -> Option<Self> {
        let mut parts = body.split('.');
        let (Some("v1"), Some(workspace), Some(session), Some(user), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expires_ms = expires.parse().ok()?;
        Some(Self { workspace: workspace.into(), session: session.into(), user: user.into(), expires_ms })
    }
}

/// `ssh-ed25519 <base64 of the wire encoding>` for the public half of an Ed25519 seed.
pub fn openssh_ed25519_public(seed: &[u8; 32]) -> String {
    let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes();
    let mut wire = Vec::with_capacity(51);
    for part in [b"ssh-ed25519".as_slice(), public.as_slice()] {
        wire.extend_from_slice(&(part.len() as u32).to_be_bytes());
        wire.extend_from_slice(part);
    }
    format!("ssh-ed25519 {}", base64::engine::general_purpose::STANDARD.encode(wire))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(n: u128) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn keys_are_stable_per_session_and_differ_between_sessions_and_servers() {
        let keys = SessionKeys::new(&[7; 32]);
        assert_eq!(keys.host_key_seed(&session(1)), SessionKeys::new(&[7; 32]).host_key_seed(&session(1)));
        assert_ne!(keys.host_key_seed(&session(1)), keys.host_key_seed(&session(2)));
        assert_ne!(keys.host_key_seed(&session(1)), SessionKeys::new(&[8; 32]).host_key_seed(&session(1)));
        assert_ne!(keys.agent_secret(&session(1), "a"), keys.agent_secret(&session(1), "b"));
        assert_ne!(hex::encode(keys.host_key_seed(&session(1))), keys.agent_secret(&session(1), ""));
        assert_eq!(format!("{keys:?}"), "SessionKeys(<redacted>)");
    }

    #[test]
    fn a_preview_pass_is_signed_and_expires() {
        let keys = SessionKeys::new(&[7; 32]);
        let pass = PreviewPass { workspace: "w".into(), session: "s".into(), user: "u".into(), expires_ms: 100 };
        let value = keys.preview_pass(&pass);
        assert_eq!(keys.verify_preview_pass(&value, 99), Some(pass.clone()));
        assert_eq!(keys.verify_preview_pass(&value, 100), None, "expired");
        assert_eq!(SessionKeys::new(&[8; 32]).verify_preview_pass(&value, 0), None, "another server");
        let forged = value.replacen(".s.", ".t.", 1);
        assert_eq!(keys.verify_preview_pass(&forged, 0), None, "another session");
        for junk in ["", ".", "v1.w.s.u.1", "v1.w.s.u.x.00", "a.b"] {
            assert_eq!(keys.verify_preview_pass(junk, 0), None, "{junk}");
        }
    }

    #[test]
    fn the_public_key_is_in_openssh_form() {
        // RFC 8032 test 1: the seed 9d61… has the public key d75a….
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        let line = openssh_ed25519_public(&seed);
        let b64 = line.strip_prefix("ssh-ed25519 ").unwrap();
        let wire = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        assert_eq!(&wire[..4], &11u32.to_be_bytes());
        assert_eq!(&wire[4..15], b"ssh-ed25519");
        assert_eq!(hex::encode(&wire[19..]), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    }
}
