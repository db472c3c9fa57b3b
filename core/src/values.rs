//! Validated value types. Each constructor is the only way in, so a value that exists is valid and
//! no check is repeated downstream. Enums parse from and render to their wire spelling.

use crate::error::{Code, Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address as the user typed it (trimmed).
///
/// One rule makes two addresses the same account: emails are ASCII only (anything else is refused
/// with `invalid_email`) and are compared after ASCII lower-casing (`A`–`Z` → `a`–`z`), nothing
/// more. No Unicode case folding or normalisation applies, so characters that fold onto ASCII
/// (the Kelvin sign U+212A onto `k`, for one) can never reach another address's account.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        let invalid = || Error::new(Code::InvalidEmail, "email must look like name@example.com");
        if value.is_empty() {
            return Err(Error::new(Code::EmailRequired, "email is required"));
        }
        if value.len() > 254 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(invalid());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid());
        }
        Ok(Self(value.to_string()))
    }
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key used for uniqueness and lookups: ASCII lower-casing only (see the type's docs).
    pub fn normalised(&self) -> String {
        self.0.to_ascii_lowercase()
    }
    /// The display name derived from the local part: `john.doe-x@…` → `John Doe X`, cut to
    /// [`DisplayName::MAX_CHARS`] characters (and trimmed again) so it is always a valid name.
    pub fn default_name(&self) -> String {
        let local = self.0.split('@').next().unwrap_or_default();
        let words: Vec<String> = local
            .split(['.', '_', '-'])
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            })
            .collect();
        let name: String = words.join(" ").chars().take(DisplayName::MAX_CHARS).collect();
        match name.trim_end() {
            "" => "User".to_string(),
            name => name.to_string(),
        }
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A password in flight. Never stored, never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    /// A new password (registration): at least 8 characters, at most 1 KiB.
    pub fn new_for_account(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::new(Code::PasswordRequired, "password is required"));
        }
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(Error::new(Code::WeakPassword, "password must be at least 8 characters"));
        }
        Self::presented(raw)
    }
    /// A presented password (login): only the size bound, so hashing stays cheap to refuse.
    pub fn presented(raw: &str) -> Result<Self> {
        if raw.len() > Self::MAX_BYTES {
            return Err(Error::new(Code::PasswordTooLong, "password must be at most 1024 bytes"));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A person's display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > Self::MAX_CHARS || value.chars().any(char::is_control) {
            return Err(Error::new(Code::InvalidName, "name must be 1 to 100 printable characters"));
        }
        Ok(Self(value.to_string()))
    }
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The accessors every validated name shares: read back from storage (which only ever holds
/// parsed names), as text, and its uniqueness key (lower-cased).
macro_rules! stored_name {
    ($name:ident) => {
        impl $name {
            /// A name read back from storage, which only ever holds parsed names.
            pub fn from_stored(value: String) -> Self {
                Self(value)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The uniqueness key: lower-cased.
            pub fn normalised(&self) -> String {
                self.0.to_lowercase()
            }
        }
    };
}

/// A template's name: 1–64 characters of letters, digits, `-`, `_` and `.`, starting with a letter or
/// digit. Unique per workspace regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateName(String);

impl TemplateName {
    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        let ok = (1..=64).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(Error::new(
                Code::InvalidTemplateName,
                "template name must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            ));
        }
        Ok(Self(value.to_string()))
    }
}

stored_name!(TemplateName);

impl std::fmt::Display for TemplateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version label (`1.0.0`, `2026-11-26.1`): 1–64 characters of letters, digits, `.`, `-`, `_`, `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionLabel(String);

impl VersionLabel {
    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        let ok = (1..=64).contains(&value.len())
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
        if !ok {
            return Err(Error::new(
                Code::InvalidVersion,
                "version must be 1 to 64 letters, digits, '.', '-', '_' or '+', starting with a letter or digit",
            ));
        }
        Ok(Self(value.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? } invalid: $code:ident, $msg:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            pub fn parse(raw: &str) -> Result<Self> {
                match raw {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(Error::new(Code::$code, $msg)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// A member's role in a workspace, from most to least powerful.
    Role { Owner => "owner", Admin => "admin", Member => "member", Viewer => "viewer" }
    invalid: InvalidRole, "role must be one of owner, admin, member, viewer");

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
            Role::Viewer => 0,
        }
    }
    /// True when this role has at least the power of `other`.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
    /// A role that can be given by invite or role change (everything but owner).
    pub fn parse_assignable(raw: &str) -> Result<Self> {
        match Self::parse(raw)? {
            Role::Owner => Err(Error::new(Code::InvalidRole, "role must be one of admin, member, viewer")),
            role => Ok(role),
        }
    }
}

wire_enum!(
    /// Where a session's lifecycle stands (see `crate::machines::sessions`).
    SessionState {
        Created => "created", Starting => "starting", Running => "running", Stopping => "stopping",
        Sleeping => "sleeping", Failed => "failed", Deleted => "deleted"
    }
    invalid: InvalidSessionState, "unknown session state");

/// A session's name: trimmed, 1–64 characters, no control characters. Unique per workspace among
/// live sessions, whatever the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName(String);

impl SessionName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Error::new(Code::SessionNameRequired, "Session name is required"));
        }
        if value.chars().count() > Self::MAX_CHARS || value.chars().any(char::is_control) {
            return Err(Error::new(
                Code::InvalidSessionName,
                "session name must be at most 64 characters, without control characters",
            ));
        }
        Ok(Self(value.to_string()))
    }
}

stored_name!(SessionName);

wire_enum!(
    /// A workspace's billing plan; it sets the quotas.
    Plan { Free => "free", Pro => "pro", Enterprise => "enterprise" }
    invalid: InvalidPlan, "plan must be one of free, pro, enterprise");

/// The quotas a plan grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanLimits {
    pub max_templates: u32,
    pub max_running_sessions: u32,
    /// Bytes of snapshot content the workspace may keep.
    pub max_snapshot_bytes: u64,
}

impl Plan {
    pub fn limits(self) -> PlanLimits {
        const GIB: u64 = 1024 * 1024 * 1024;
        let (max_templates, max_running_sessions, max_snapshot_bytes) = match self {
            Plan::Free => (10, 3, 5 * GIB),
            Plan::Pro => (100, 20, 100 * GIB),
            Plan::Enterprise => (1000, 200, 1024 * GIB),
        };
        PlanLimits { max_templates, max_running_sessions, max_snapshot_bytes }
    }
    /// Stored plans are trusted; an unknown one counts as free.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Plan::Free)
    }
}

wire_enum!(
    /// The kind of client a sign-in is for; it sets how tokens are delivered (cookie or body).
    ClientKind { Browser => "browser", Api => "api" }
    invalid: InvalidKind, "kind must be browser or api");

wire_enum!(
    /// What a token record can be used for. Each route accepts exactly one kind.
    TokenKind { Access => "access", Refresh => "refresh", Runtime => "runtime" }
    invalid: InvalidTokenKind, "unknown token kind");

wire_enum!(
    /// Where a device authorization stands.
    DeviceStatus { Pending => "pending", Approved => "approved", Denied => "denied", Exchanged => "exchanged" }
    invalid: InvalidDeviceStatus, "unknown device status");

wire_enum!(
    /// Where an invite stands.
    InviteStatus { Pending => "pending", Accepted => "accepted", Revoked => "revoked" }
    invalid: InvalidInviteStatus, "unknown invite status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_validate_and_normalise() {
        assert_eq!(Email::parse(" Ada@Example.com ").unwrap().normalised(), "ada@example.com");
        for bad in ["", "ada", "@x.io", "ada@", "ada@x", "a b@x.io", "a@@x.io", "a@.x.io"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn default_names_follow_the_local_part() {
        let name = |e: &str| Email::parse(e).unwrap().default_name();
        assert_eq!(name("john.doe-x@example.com"), "John Doe X");
        assert_eq!(name("o@example.com"), "O");
        assert_eq!(name("._-@example.com"), "User");
    }

    #[test]
    fn a_long_local_part_still_gives_a_valid_name() {
        // The 100th character is the space between the two words: it is not kept.
        let local = format!("{}.{}", "a".repeat(99), "b".repeat(10));
        let name = Email::parse(&format!("{local}@example.com")).unwrap().default_name();
        assert_eq!(name.chars().count(), 99, "{name:?}");
        assert!(DisplayName::parse(&name).is_ok());
        let name = Email::parse(&format!("{}@example.com", "x".repeat(200))).unwrap().default_name();
        assert_eq!(name, format!("X{}", "x".repeat(99)));
        assert!(DisplayName::parse(&name).is_ok());
    }

    #[test]
    fn emails_are_ascii_and_lower_cased_by_ascii_rules_only() {
        for lookalike in ["\u{212A}@x.io", "\u{212A}im@x.io", "caf\u{e9}@x.io", "a@\u{212A}.io", "a\u{a0}b@x.io"] {
            let refused = Email::parse(lookalike).unwrap_err();
            assert_eq!(refused.code.as_str(), "invalid_email", "{lookalike:?}");
        }
        assert_eq!(Email::parse("KiM.Doe@Example.IO").unwrap().normalised(), "kim.doe@example.io");
        // Even a stored address that predates the rule is never folded by Unicode rules.
        assert_eq!(Email::from_stored("\u{212A}@x.io").normalised(), "\u{212A}@x.io");
    }

    #[test]
    fn roles_order_and_owner_is_not_assignable() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(!Role::Viewer.at_least(Role::Member));
        assert!(Role::parse_assignable("owner").is_err());
        assert_eq!(Role::parse_assignable("viewer").unwrap(), Role::Viewer);
    }

    #[test]
    fn passwords_have_bounds_and_hide() {
        assert!(Password::new_for_account("short").is_err());
        assert!(Password::presented(&"x".repeat(2000)).is_err());
        let p = Password::new_for_account("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
