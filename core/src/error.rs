//! The one error type of the use cases: a stable machine [`Code`] (which fixes its kind, so its
//! HTTP status), a human message, and, for failures of a port, the port's own error as its
//! `source`. The source is for the log: adapter text never reaches the message a client sees.

use std::fmt;
use std::sync::Arc;

/// What went wrong, in terms a caller can act on; the edge maps each kind to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed or invalid input (400).
    BadRequest,
    /// Missing, wrong or expired credentials (401).
    Unauthorized,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// No such thing, or not visible to the caller (404).
    NotFound,
    /// The route exists but not for this method (405).
    MethodNotAllowed,
    /// The request conflicts with current state, including lost optimistic races (409).
    Conflict,
    /// The thing existed but is no longer usable (410).
    Gone,
    /// A body larger than allowed (413).
    PayloadTooLarge,
    /// A body of a content type the route does not take (415).
    UnsupportedMediaType,
    /// Too many requests in the current window (429).
    RateLimited,
    /// A bug or an unexpected failure (500); the message is not shown to clients.
    Internal,
    /// A dependency (database, blob store) is unavailable (503).
    Unavailable,
}

/// Declares [`Code`]: each variant with its wire string and its kind, in one table.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident => $wire:literal, $kind:ident;)+) => {
        /// Every machine code the API answers with, as sent in the error body's `code`. The wire
        /// strings are stable: clients match on them. The README's "Error codes" table lists them
        /// all (a test keeps the two equal).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The wire string (snake_case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $wire,)+
                }
            }

            /// The kind of error this code is, which fixes its HTTP status.
            pub fn kind(self) -> ErrorKind {
                match self {
                    $(Code::$variant => ErrorKind::$kind,)+
                }
            }
        }
    };
}

codes! {
    // 400
    /// The request body could not be read, or its JSON has wrong types, missing or unknown fields.
    InvalidBody => "invalid_body", BadRequest;
    /// The request body is not well-formed JSON.
    InvalidJson => "invalid_json", BadRequest;
    /// A path parameter does not decode.
    InvalidPath => "invalid_path", BadRequest;
    /// The query string is malformed (wrong type, unknown or repeated parameter).
    InvalidQuery => "invalid_query", BadRequest;
    /// A runtime route that takes a WebSocket was called without the upgrade.
    UpgradeRequired => "upgrade_required", BadRequest;
    /// No email was given.
    EmailRequired => "email_required", BadRequest;
    /// The email does not look like an address.
    InvalidEmail => "invalid_email", BadRequest;
    /// No password was given.
    PasswordRequired => "password_required", BadRequest;
    /// The password is shorter than 8 characters.
    WeakPassword => "weak_password", BadRequest;
    /// The password is longer than 1024 bytes.
    PasswordTooLong => "password_too_long", BadRequest;
    /// The display name is empty, too long or not printable.
    InvalidName => "invalid_name", BadRequest;
    /// The role is not one that may be given.
    InvalidRole => "invalid_role", BadRequest;
    /// The plan is not a known plan.
    InvalidPlan => "invalid_plan", BadRequest;
    /// The client kind is neither `browser` nor `api`.
    InvalidKind => "invalid_kind", BadRequest;
    /// The token kind is unknown.
    InvalidTokenKind => "invalid_token_kind", BadRequest;
    /// The device status is unknown.
    InvalidDeviceStatus => "invalid_device_status", BadRequest;
    /// The invite status is unknown.
    InvalidInviteStatus => "invalid_invite_status", BadRequest;
    /// A list `limit` is out of range.
    InvalidLimit => "invalid_limit", BadRequest;
    /// The template name does not follow the naming rule.
    InvalidTemplateName => "invalid_template_name", BadRequest;
    /// The template description is too long.
    InvalidDescription => "invalid_description", BadRequest;
    /// The version label does not follow the labelling rule.
    InvalidVersion => "invalid_version", BadRequest;
    /// The version notes are too long.
    InvalidNotes => "invalid_notes", BadRequest;
    /// The template manifest is invalid; the message names the field.
    InvalidManifest => "invalid_manifest", BadRequest;
    /// An upload grant's size is not a positive integer.
    InvalidBytes => "invalid_bytes", BadRequest;
    /// The uploaded bundle is empty.
    EmptyBody => "empty_body", BadRequest;
    /// The uploaded body is not the size its grant was issued for.
    SizeMismatch => "size_mismatch", BadRequest;
    /// Device flow: not yet approved; poll again.
    AuthorizationPending => "authorization_pending", BadRequest;
    /// Device flow: the request was denied.
    AccessDenied => "access_denied", BadRequest;
    /// Device flow: the device code expired before it was exchanged.
    ExpiredToken => "expired_token", BadRequest;
    /// Device flow: the device code is unknown or was already exchanged.
    InvalidGrant => "invalid_grant", BadRequest;
    /// No session name was given.
    SessionNameRequired => "session_name_required", BadRequest;
    /// The session name is too long or has control characters.
    InvalidSessionName => "invalid_session_name", BadRequest;
    /// Not a session state.
    InvalidSessionState => "invalid_session_state", BadRequest;
    /// The snapshot label is too long or has control characters.
    InvalidSnapshotLabel => "invalid_snapshot_label", BadRequest;
    /// The expected digest is not `sha256:` followed by 64 hex digits (or the 64 digits alone).
    InvalidDigest => "invalid_digest", BadRequest;
    /// The uploaded body's SHA-256 is not the one the client said it would be; nothing was stored.
    DigestMismatch => "digest_mismatch", BadRequest;
    /// Members leave a workspace with `leave`, not by removing themselves.
    SelfRemoval => "self_removal", BadRequest;
    // 401
    /// The credential is missing, unknown, expired or revoked.
    Unauthorized => "unauthorized", Unauthorized;
    /// The email or password is wrong.
    InvalidCredentials => "invalid_credentials", Unauthorized;
    /// Refresh was called without a refresh token.
    RefreshTokenRequired => "refresh_token_required", Unauthorized;
    /// A rotated refresh token was presented again; its whole sign-in was revoked.
    RefreshTokenReused => "refresh_token_reused", Unauthorized;
    // 403
    /// The caller's role is too low for the action.
    InsufficientPermissions => "insufficient_permissions", Forbidden;
    /// The caller is not (or no longer) a member of the workspace.
    NotAMember => "not_a_member", Forbidden;
    /// A cookie-authenticated mutation lacks its sign-in's CSRF token.
    CsrfFailed => "csrf_failed", Forbidden;
    /// The invite was sent to another email address.
    InviteEmailMismatch => "invite_email_mismatch", Forbidden;
    /// The workspace's plan allows no more templates.
    TemplateLimit => "template_limit", Forbidden;
    /// The workspace's plan allows no more running sessions.
    SessionLimit => "session_limit", Forbidden;
    /// The workspace's plan allows no more stored snapshot bytes.
    SnapshotQuota => "snapshot_quota", Forbidden;
    // 404
    /// No such route.
    NotFound => "not_found", NotFound;
    /// No such workspace.
    WorkspaceNotFound => "workspace_not_found", NotFound;
    /// No such membership in the workspace.
    MembershipNotFound => "membership_not_found", NotFound;
    /// No such invite.
    InviteNotFound => "invite_not_found", NotFound;
    /// No such template in the workspace.
    TemplateNotFound => "template_not_found", NotFound;
    /// No such version of the template.
    VersionNotFound => "version_not_found", NotFound;
    /// The version has no uploaded bundle.
    BundleNotFound => "bundle_not_found", NotFound;
    /// No such build in the workspace.
    BuildNotFound => "build_not_found", NotFound;
    /// The upload grant is unknown, used or expired.
    UploadGrantNotFound => "upload_grant_not_found", NotFound;
    /// No device sign-in request has this user code.
    DeviceCodeNotFound => "device_code_not_found", NotFound;
    /// No such session in the workspace.
    SessionNotFound => "session_not_found", NotFound;
    /// No such snapshot of the session.
    SnapshotNotFound => "snapshot_not_found", NotFound;
    /// The snapshot's content has not been uploaded (yet).
    SnapshotContentNotFound => "snapshot_content_not_found", NotFound;
    // 405
    /// The route does not take this method.
    MethodNotAllowed => "method_not_allowed", MethodNotAllowed;
    // 409
    /// The resource changed meanwhile (a lost race); nothing was written.
    Conflict => "conflict", Conflict;
    /// An account with this email already exists.
    EmailTaken => "email_taken", Conflict;
    /// The person is already a member of the workspace.
    AlreadyMember => "already_member", Conflict;
    /// The owner's role cannot be changed.
    OwnerImmutable => "owner_immutable", Conflict;
    /// The workspace's last owner cannot leave it (or be removed from it).
    LastOwner => "last_owner", Conflict;
    /// The invite was already accepted.
    InviteUsed => "invite_used", Conflict;
    /// The device sign-in request was already approved or denied.
    DeviceCodeDecided => "device_code_decided", Conflict;
    /// A template with this name already exists in the workspace.
    TemplateNameTaken => "template_name_taken", Conflict;
    /// The template is already archived.
    TemplateArchived => "template_archived", Conflict;
    /// The template is not archived.
    TemplateNotArchived => "template_not_archived", Conflict;
    /// The template already has a version with this label.
    VersionExists => "version_exists", Conflict;
    /// Only a version whose build succeeded can be promoted.
    VersionNotReady => "version_not_ready", Conflict;
    /// The version was built and can no longer change.
    VersionImmutable => "version_immutable", Conflict;
    /// The version changed while its bundle was uploading; nothing was stored.
    VersionChanged => "version_changed", Conflict;
    /// The stored bundle is not the one its build checked.
    BundleDigestMismatch => "bundle_digest_mismatch", Conflict;
    /// The build is neither failed nor dead-lettered, so it cannot be retried.
    BuildNotRetryable => "build_not_retryable", Conflict;
    /// The build's state does not allow the requested step.
    BuildTransition => "build_transition", Conflict;
    /// The template has no promoted version to start sessions from.
    TemplateNotPromoted => "template_not_promoted", Conflict;
    /// Sessions still use the template.
    TemplateInUse => "template_in_use", Conflict;
    /// A live session with this name already exists in the workspace.
    SessionNameTaken => "session_name_taken", Conflict;
    /// The session was deleted.
    SessionDeleted => "session_deleted", Conflict;
    /// The session's state does not allow a start.
    SessionNotStartable => "session_not_startable", Conflict;
    /// The session's state does not allow a stop.
    SessionNotStoppable => "session_not_stoppable", Conflict;
    /// Another request changed the session first; nothing was done.
    SessionChanged => "session_changed", Conflict;
    /// The session must be running for this.
    SessionNotRunning => "session_not_running", Conflict;
    /// The snapshot changed (or was deleted) while its content was uploading; nothing was stored.
    SnapshotChanged => "snapshot_changed", Conflict;
    /// The session's persisted paths could not be saved; the previous latest snapshot stays.
    SaveFailed => "save_failed", Conflict;
    /// The snapshot could not be restored into the session; its files were left as they were.
    RestoreFailed => "restore_failed", Conflict;
    // 410
    /// The invite was revoked.
    InviteRevoked => "invite_revoked", Gone;
    /// The invite expired.
    InviteExpired => "invite_expired", Gone;
    /// The device sign-in request expired before it was approved.
    DeviceCodeExpired => "device_code_expired", Gone;
    // 413
    /// The body is larger than the route allows.
    PayloadTooLarge => "payload_too_large", PayloadTooLarge;
    // 415
    /// The body's content type is not one the route takes.
    UnsupportedMediaType => "unsupported_media_type", UnsupportedMediaType;
    /// The upload's content type is not the one its grant was issued for.
    ContentTypeMismatch => "content_type_mismatch", UnsupportedMediaType;
    // 429
    /// Too many requests from this client in the current window.
    RateLimited => "rate_limited", RateLimited;
    // 500
    /// An unexpected failure; the cause is in the server's log.
    Internal => "internal", Internal;
    // 503
    /// Storage (database or blob store) is unavailable; try again.
    StorageUnavailable => "storage_unavailable", Unavailable;
    /// This server has no session runtime, so sessions cannot start here.
    RuntimeUnavailable => "runtime_unavailable", Unavailable;
    /// The session's agent did not answer (it may have just died; reconcile marks it).
    AgentUnreachable => "agent_unreachable", Unavailable;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A use-case error: a stable machine code, a human message, and (for port failures) the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    source: Option<Arc<PortError>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `code` (which fixes its kind) with a message for people.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }
    /// The same error, keeping `cause` for the log.
    pub fn with_source(mut self, cause: PortError) -> Self {
        self.source = Some(Arc::new(cause));
        self
    }
    /// What kind of error this is (from its code).
    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }
    /// The port failure behind this error, if any: for the log, never for the client.
    pub fn cause(&self) -> Option<&PortError> {
        self.source.as_deref()
    }
    /// A bug or unexpected state; `message` goes to the log only.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }
    /// The generic 401 for any credential that does not resolve to a live sign-in.
    pub fn invalid_token() -> Self {
        Self::new(Code::Unauthorized, "Unauthorized")
    }
    /// The generic 403 for a role that is too low for the action.
    pub fn insufficient_role() -> Self {
        Self::new(Code::InsufficientPermissions, "Insufficient permissions")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The error contract shared by every storage-like port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// A guarded write found the row changed, or a uniqueness rule was violated; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backing service could not be reached or refused the call; nothing was written.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The client's body could not be read (malformed framing, connection dropped); nothing was
    /// stored.
    #[error("unreadable body: {0}")]
    BodyRead(String),
    /// A streamed body went past the limit it was given; nothing was stored.
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    /// Anything else (corrupt row, bug); nothing was written.
    #[error("{0}")]
    Other(String),
}

/// A port failure as a use-case error: a code and a message of our own, with the port's error
/// (whose text is the adapter's) kept as the source.
impl From<PortError> for Error {
    fn from(e: PortError) -> Self {
        let error = match &e {
            PortError::Conflict(_) => {
                Error::new(Code::Conflict, "The resource changed meanwhile; nothing was written, try again")
            }
            PortError::Unavailable(_) => Error::new(Code::StorageUnavailable, "Storage is unavailable; try again"),
            PortError::TooLarge { limit } => {
                Error::new(Code::PayloadTooLarge, format!("The body exceeds the {limit}-byte limit"))
            }
            PortError::BodyRead(_) => Error::new(Code::InvalidBody, "Could not read the request body"),
            PortError::Other(_) => Error::internal("Internal error"),
        };
        error.with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::error::Error as _;

    #[test]
    fn every_code_has_a_distinct_snake_case_wire_string() {
        let wires: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(wires.len(), Code::ALL.len(), "two codes share a wire string");
        for wire in wires {
            let snake = !wire.is_empty()
                && wire.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !wire.starts_with('_')
                && !wire.ends_with('_');
            assert!(snake, "{wire} is not snake_case");
        }
    }

    #[test]
    fn port_failures_keep_the_adapter_text_as_source_only() {
        let adapter = "D1_ERROR: CHECK constraint failed: ok > 0";
        for (port, code) in [
            (PortError::Conflict(adapter.into()), Code::Conflict),
            (PortError::Unavailable(adapter.into()), Code::StorageUnavailable),
            (PortError::Other(adapter.into()), Code::Internal),
            (PortError::BodyRead(adapter.into()), Code::InvalidBody),
        ] {
            let e = Error::from(port.clone());
            assert_eq!(e.code, code);
            assert!(!e.message.contains("CHECK") && !e.message.contains("D1"), "{}", e.message);
            assert!(!e.to_string().contains("CHECK"), "{e}");
            assert_eq!(e.cause(), Some(&port));
            assert!(e.source().is_some_and(|s| s.to_string().contains(adapter)));
        }
    }
}
