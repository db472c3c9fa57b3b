//! Entity builders for the storage scenarios: valid records with fresh ids and secrets, stamped
//! with the time given, so each scenario states only what it is about.

use crate::contract::harness::Harness;
use burstflare_adapters_system::OsRandom;
use burstflare_core::ids::{
    AuditId, BuildId, DeviceId, FamilyId, GrantId, InviteId, ReleaseId, SessionEventId, SessionId, TemplateId, TokenId,
    UsageId, UserId, VersionId, WorkspaceId,
};
use burstflare_core::manifest::Manifest;
use burstflare_core::model::{
    AuditEntry, Build, BuildStatus, DeviceAuthorization, Invite, Membership, Release, Session, SessionEvent, Template,
    TemplateVersion, Token, UploadGrant, UsageEvent, User, VersionStatus, Workspace,
};
use burstflare_core::ports::Random as _;
use burstflare_core::secret::{prefix, Secret, SecretHash};
use burstflare_core::store::Write;
use burstflare_core::time::Timestamp;
use burstflare_core::values::{
    ClientKind, DeviceStatus, DisplayName, Email, InviteStatus, Plan, Role, SessionName, SessionState, TemplateName,
    TokenKind,
};

fn uuid() -> uuid::Uuid {
    OsRandom.uuid()
}

pub fn secret(kind: &str) -> Secret {
    Secret::new(kind, OsRandom.bytes32())
}

pub fn user(email: &str, at: Timestamp) -> User {
    let email = Email::parse(email).expect("fixture emails are valid");
    let name = DisplayName::parse(&email.default_name()).expect("derived names are valid");
    User { id: UserId::from_uuid(uuid()), email, name, created_at: at }
}

pub fn workspace(owner: &UserId, name: &str, at: Timestamp) -> Workspace {
    Workspace {
        id: WorkspaceId::from_uuid(uuid()),
        name: name.to_string(),
        owner_user_id: owner.clone(),
        plan: Plan::Free,
        created_at: at,
        version: 1,
    }
}

pub fn membership(workspace: &WorkspaceId, user: &UserId, role: Role, at: Timestamp) -> Membership {
    Membership { workspace_id: workspace.clone(), user_id: user.clone(), role, created_at: at, version: 1 }
}

/// A live token of `kind` in `family`, valid for an hour from `at`.
pub fn token(
    kind: TokenKind,
    family: &FamilyId,
    user: &UserId,
    workspace: &WorkspaceId,
    at: Timestamp,
) -> (Secret, Token) {
    let secret = secret(match kind {
        TokenKind::Access => prefix::ACCESS,
        TokenKind::Refresh => prefix::REFRESH,
        TokenKind::Runtime => prefix::RUNTIME,
    });
    let token = Token {
        id: TokenId::from_uuid(uuid()),
        hash: secret.hash(),
        kind,
        client: ClientKind::Api,
        family_id: family.clone(),
        user_id: user.clone(),
        workspace_id: workspace.clone(),
        created_at: at,
        expires_at: at.plus_seconds(3600),
        used_at: None,
        revoked_at: None,
        version: 1,
        session_id: None,
    };
    (secret, token)
}

pub fn family() -> FamilyId {
    FamilyId::from_uuid(uuid())
}

/// A pending invite that expires `ttl_seconds` after `at`.
pub fn invite(workspace: &WorkspaceId, by: &UserId, email: &str, at: Timestamp, ttl_seconds: i64) -> (Secret, Invite) {
    let code = secret(prefix::INVITE);
    let invite = Invite {
        id: InviteId::from_uuid(uuid()),
        code_hash: code.hash(),
        workspace_id: workspace.clone(),
        email: Email::from_stored(email.to_lowercase()),
        role: Role::Member,
        status: InviteStatus::Pending,
        created_by_user_id: by.clone(),
        created_at: at,
        expires_at: at.plus_seconds(ttl_seconds),
        accepted_at: None,
        accepted_by_user_id: None,
        version: 1,
    };
    (code, invite)
}

/// A pending device authorization and its two codes (the device code, the user code's hash).
pub fn device(at: Timestamp, ttl_seconds: i64) -> (Secret, SecretHash, DeviceAuthorization) {
    let device_code = secret(prefix::DEVICE);
    let user_code = SecretHash::of(&hex_of(OsRandom.bytes32()));
    let record = DeviceAuthorization {
        id: DeviceId::from_uuid(uuid()),
        device_code_hash: device_code.hash(),
        user_code_hash: user_code.clone(),
        status: DeviceStatus::Pending,
        user_id: None,
        workspace_id: None,
        created_at: at,
        expires_at: at.plus_seconds(ttl_seconds),
        decided_at: None,
        version: 1,
    };
    (device_code, user_code, record)
}

fn hex_of(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn audit(workspace: Option<&WorkspaceId>, action: &str, at: Timestamp) -> AuditEntry {
    AuditEntry {
        id: AuditId::from_uuid(uuid()),
        action: action.to_string(),
        actor_user_id: None,
        workspace_id: workspace.cloned(),
        target_type: "test".to_string(),
        target_id: action.to_string(),
        details: serde_json::json!({ "action": action, "nested": { "n": 1 } }),
        created_at: at,
    }
}

pub fn template(workspace: &WorkspaceId, by: &UserId, name: &str, at: Timestamp) -> Template {
    Template {
        id: TemplateId::from_uuid(uuid()),
        workspace_id: workspace.clone(),
        name: TemplateName::from_stored(name.to_string()),
        description: format!("{name} template"),
        active_version_id: None,
        archived_at: None,
        archived_by_user_id: None,
        created_by_user_id: by.clone(),
        created_at: at,
        version: 1,
    }
}

/// A queued version without a bundle, with a manifest that uses every field.
pub fn version(template: &Template, label: &str, at: Timestamp) -> TemplateVersion {
    let manifest = serde_json::json!({
        "image": "node:22", "features": ["ssh", "snapshots"], "persistedPaths": ["/workspace"],
        "sleepTtlSeconds": 3600, "idleTimeoutSeconds": 600, "command": ["npm", "start"],
        "previewPort": 3000, "env": { "NODE_ENV": "development" }
    });
    TemplateVersion {
        id: VersionId::from_uuid(uuid()),
        template_id: template.id.clone(),
        workspace_id: template.workspace_id.clone(),
        label: label.to_string(),
        notes: format!("notes of {label}"),
        manifest: Manifest::parse(&manifest).expect("the fixture manifest is valid"),
        status: VersionStatus::Queued,
        bundle: None,
        created_by_user_id: template.created_by_user_id.clone(),
        created_at: at,
        built_at: None,
        version: 1,
    }
}

/// The queued build of a version.
pub fn build(version: &TemplateVersion, at: Timestamp) -> Build {
    Build {
        id: BuildId::from_uuid(uuid()),
        version_id: version.id.clone(),
        template_id: version.template_id.clone(),
        workspace_id: version.workspace_id.clone(),
        status: BuildStatus::Queued,
        attempts: 0,
        last_error: None,
        artifact: None,
        log_key: format!("builds/{}/{}.log", version.template_id, version.label),
        created_at: at,
        updated_at: at,
        started_at: None,
        finished_at: None,
        dead_lettered_at: None,
        version: 1,
    }
}

pub fn release(version: &TemplateVersion, at: Timestamp) -> Release {
    Release {
        id: ReleaseId::from_uuid(uuid()),
        workspace_id: version.workspace_id.clone(),
        template_id: version.template_id.clone(),
        version_id: version.id.clone(),
        created_by_user_id: version.created_by_user_id.clone(),
        created_at: at,
    }
}

/// An unused grant for 1 KiB of gzip, valid for an hour from `at`, and its secret.
pub fn grant(version: &TemplateVersion, at: Timestamp) -> (Secret, UploadGrant) {
    let secret = secret("bfu");
    let grant = UploadGrant {
        id: GrantId::from_uuid(uuid()),
        secret_hash: secret.hash(),
        workspace_id: version.workspace_id.clone(),
        target: burstflare_core::model::GrantTarget::Bundle {
            template_id: version.template_id.clone(),
            version_id: version.id.clone(),
        },
        content_type: "application/gzip".to_string(),
        bytes: Some(1024),
        created_by_user_id: Some(version.created_by_user_id.clone()),
        created_at: at,
        expires_at: at.plus_seconds(3600),
        used_at: None,
        version: 1,
    };
    (secret, grant)
}

pub fn usage(workspace: &WorkspaceId, at: Timestamp) -> UsageEvent {
    UsageEvent {
        id: UsageId::from_uuid(uuid()),
        workspace_id: workspace.clone(),
        kind: "template_build".to_string(),
        value: 1,
        details: serde_json::json!({ "n": 1 }),
        created_at: at,
    }
}

/// A `created` session of the version, by the version's author, with the manifest's timeouts.
pub fn session(version: &TemplateVersion, name: &str, at: Timestamp) -> Session {
    Session {
        id: SessionId::from_uuid(uuid()),
        workspace_id: version.workspace_id.clone(),
        template_id: version.template_id.clone(),
        version_id: version.id.clone(),
        name: SessionName::from_stored(name.to_string()),
        state: SessionState::Created,
        state_detail: None,
        created_by_user_id: version.created_by_user_id.clone(),
        created_at: at,
        updated_at: at,
        last_started_at: None,
        last_stopped_at: None,
        last_active_at: None,
        sleep_ttl_seconds: version.manifest.sleep_ttl_seconds,
        idle_timeout_seconds: version.manifest.idle_timeout_seconds,
        version: 1,
    }
}

/// An event of the session reaching `state`, with details that name `note`.
pub fn session_event(session: &Session, state: SessionState, note: &str, at: Timestamp) -> SessionEvent {
    SessionEvent {
        id: SessionEventId::from_uuid(uuid()),
        session_id: session.id.clone(),
        workspace_id: session.workspace_id.clone(),
        state,
        details: serde_json::json!({ "note": note, "nested": { "n": 1 } }),
        created_at: at,
    }
}

/// A stored account with its own workspace, as registration leaves them (without tokens).
pub struct Account {
    pub user: User,
    pub workspace: Workspace,
}

impl Harness {
    /// Creates a user, a workspace they own and their owner membership, at the clock's time.
    pub async fn account(&self, email: &str) -> anyhow::Result<Account> {
        let now = self.now();
        let user = user(email, now);
        let workspace = workspace(&user.id, &format!("{email}'s workspace"), now);
        self.commit([
            Write::CreateUser { user: user.clone(), password_hash: "$argon2id$not-a-real-hash".to_string() },
            Write::CreateWorkspace(workspace.clone()),
            Write::CreateMembership(membership(&workspace.id, &user.id, Role::Owner, now)),
        ])
        .await?;
        Ok(Account { user, workspace })
    }
}
