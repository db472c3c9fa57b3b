//! Identifiers: `<prefix>_<uuid-v4>` strings, one newtype per entity so they cannot be mixed up.
//! New ids are made from a UUID drawn by the `Random` port.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// A fresh id from a random UUID.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(format!("{}_{}", $prefix, uuid.hyphenated()))
            }
            /// Wraps a stored or client-supplied id without checking it: lookups of a malformed id
            /// simply find nothing.
            pub fn from_raw(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId, "usr");
id_type!(
    /// A workspace (team or personal).
    WorkspaceId, "ws");
id_type!(
    /// An auth-token record (never the secret itself).
    TokenId, "tok");
id_type!(
    /// A family of tokens descending from one sign-in; reuse of a rotated refresh revokes it whole.
    FamilyId, "fam");
id_type!(
    /// A device-authorization record.
    DeviceId, "dev");
id_type!(
    /// A workspace invite record.
    InviteId, "inv");
id_type!(
    /// An audit-log entry.
    AuditId, "audit");

id_type!(
    /// A workspace template.
    TemplateId, "tpl");
id_type!(
    /// One version of a template.
    VersionId, "tplv");
id_type!(
    /// The build of a template version.
    BuildId, "bld");
id_type!(
    /// A promotion of a version (release history).
    ReleaseId, "rel");
id_type!(
    /// A one-time upload grant (the secret that authorises the upload is separate).
    GrantId, "upg");
id_type!(
    /// A usage (metering) event.
    UsageId, "usage");
id_type!(
    /// A queued background job (local job table).
    JobId, "job");
id_type!(
    /// A session: one developer environment.
    SessionId, "ses");
id_type!(
    /// One entry of a session's event history.
    SessionEventId, "sev");
id_type!(
    /// A snapshot of a session's persisted paths.
    SnapshotId, "snap");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix() {
        let id = UserId::from_uuid(Uuid::nil());
        assert_eq!(id.as_str(), "usr_00000000-0000-0000-0000-000000000000");
    }
}
