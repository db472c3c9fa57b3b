//! The use cases. [`Service`] holds the ports and the configuration; each submodule adds the
//! operations of one area. Every operation authenticates, authorises, reads, decides, and commits
//! one batch; it returns domain values that the edge maps to the API's DTOs.

pub mod auth;
mod builds;
mod device;
mod maintenance;
mod members;
mod persist;
mod persist_deadline;
mod report;
mod runtime_access;
mod runtime_connect;
mod session_reconcile;
mod sessions;
mod snapshot_uploads;
mod snapshots;
mod templates;
mod uploads;
mod workspaces;

pub use auth::SignIn;
pub use builds::BuildRun;
pub use device::DeviceStart;
pub use maintenance::{JobOutcome, ReconcileReport};
pub use persist::SAVE_ATTEMPTS;
pub use report::AdminReport;
pub use runtime_access::RuntimeAccess;
pub use runtime_connect::{
    RuntimeCaller, RuntimeConnection, RuntimeUse, SshInfo, ACTIVITY_WRITE_SECONDS, PREVIEW_LINK_SECONDS,
    PREVIEW_PASS_SECONDS,
};
pub use session_reconcile::{SessionSweep, TRANSITION_TIMEOUT_SECONDS};
pub use sessions::{SessionView, RUNTIME_SECONDS};
pub use snapshot_uploads::GrantUpload;
pub use snapshots::{SnapshotList, ORPHAN_GRACE_SECONDS, SNAPSHOT_BYTES, SNAPSHOT_GRANT_PREFIX};
pub use templates::TemplateView;

use crate::error::{Code, Error, Result};
use crate::ids::{AuditId, FamilyId, JobId, TokenId, UserId, WorkspaceId};
use crate::model::{AuditEntry, Credential, Membership, Token, User, Workspace, WorkspaceView};
use crate::ports::{Job, Ports, QueuedJob};
use crate::rate::{RateDecision, RateScope};
use crate::secret::{prefix, Secret, SecretHash};
use crate::store::{Batch, Write};
use crate::time::Timestamp;
use crate::values::{ClientKind, Role, TokenKind};
use std::sync::{Arc, OnceLock};

/// Lifetimes and limits, with the defaults a deployment starts from.
#[derive(Debug, Clone)]
pub struct Config {
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    pub device_ttl_seconds: i64,
    pub device_poll_interval_seconds: i64,
    pub invite_ttl_seconds: i64,
    /// Where people approve device codes, relative to the server's base URL: the web app's
    /// approval page (`/device`, its old address, redirects there).
    pub device_verification_path: String,
    /// The largest template bundle accepted, in bytes (compressed).
    pub bundle_limit_bytes: u64,
    pub upload_grant_ttl_seconds: i64,
    /// A build still `building` this long after it started is handed to another runner.
    pub build_timeout_seconds: i64,
    /// Attempts before a build that keeps hitting transient faults is dead-lettered.
    pub max_build_attempts: u32,
    /// How long a runtime token (one session's terminal or SSH connection) stays usable.
    pub runtime_token_ttl_seconds: i64,
    /// The largest snapshot accepted, in bytes (as uploaded, compressed).
    pub snapshot_limit_bytes: u64,
    /// When set, the snapshot bytes every workspace may keep, whatever its plan (single-tenant
    /// servers, tests); otherwise the plan's `max_snapshot_bytes`.
    pub snapshot_quota_bytes: Option<u64>,
    /// The longest one save of a session's persisted paths may take (retries included); past
    /// it the save fails visibly and the stop goes on.
    pub save_timeout_seconds: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_ttl_seconds: 15 * 60,
            refresh_ttl_seconds: 30 * 24 * 3600,
            device_ttl_seconds: 10 * 60,
            device_poll_interval_seconds: 5,
            invite_ttl_seconds: 7 * 24 * 3600,
            device_verification_path: "/approve".to_string(),
            bundle_limit_bytes: 32 * 1024 * 1024,
            upload_grant_ttl_seconds: 10 * 60,
            build_timeout_seconds: 10 * 60,
            max_build_attempts: 3,
            runtime_token_ttl_seconds: 5 * 60,
            snapshot_limit_bytes: 512 * 1024 * 1024,
            snapshot_quota_bytes: None,
            save_timeout_seconds: 10 * 60,
        }
    }
}

/// The authenticated caller of a request: who, in which workspace, with which role, through which
/// token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: User,
    pub workspace_id: WorkspaceId,
    /// The caller's membership in the token's workspace (and so their role), as read with the token.
    pub membership: Membership,
    pub token_id: TokenId,
    pub family_id: FamilyId,
    pub client: ClientKind,
}

impl Actor {
    /// The caller's role in the token's workspace.
    pub fn role(&self) -> Role {
        self.membership.role
    }

    /// Refuses with 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.role().at_least(role) {
            Ok(())
        } else {
            Err(Error::insufficient_role())
        }
    }
}

/// The use cases over a set of ports. Cloning one is one reference count: handlers get a clone
/// per request, and copying the ports' dozens of `Arc`s each time measurably cost throughput.
#[derive(Clone)]
pub struct Service(Arc<ServiceInner>);

/// What a [`Service`] shares between its clones.
pub struct ServiceInner {
    ports: Ports,
    config: Config,
    /// A real hash of a throwaway password, verified against when an email is unknown so that
    /// unknown emails and wrong passwords take the same time.
    dummy_hash: OnceLock<String>,
}

impl std::ops::Deref for Service {
    type Target = ServiceInner;
    fn deref(&self) -> &ServiceInner {
        &self.0
    }
}

impl Service {
    pub fn new(ports: Ports, config: Config) -> Self {
        Self(Arc::new(ServiceInner { ports, config, dummy_hash: OnceLock::new() }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    pub(crate) fn secret(&self, prefix: &str) -> Secret {
        Secret::new(prefix, self.ports.random.bytes32())
    }

    /// Resolves an access token to its caller. Any other kind of secret, an unknown, revoked or
    /// expired token, or a membership that no longer exists is 401.
    pub async fn authenticate(&self, secret: &str) -> Result<Actor> {
        let credential = self.ports.tokens.find_credential(&access_hash(secret)?).await?;
        self.actor(credential.ok_or_else(Error::invalid_token)?)
    }

    /// [`authenticate`](Self::authenticate), with the caller's current workspace as they see it,
    /// in one read (what `GET /api/auth/me` answers).
    pub async fn authenticate_with_workspace(&self, secret: &str) -> Result<(Actor, WorkspaceView)> {
        let found = self.ports.tokens.find_credential_with_workspace(&access_hash(secret)?).await?;
        let (credential, workspace) = found.ok_or_else(Error::invalid_token)?;
        let actor = self.actor(credential)?;
        let (workspace, member_count) = workspace.ok_or_else(Error::invalid_token)?;
        let limits = workspace.plan.limits();
        let view = WorkspaceView { workspace, role: actor.role(), member_count, limits };
        Ok((actor, view))
    }

    /// The caller a stored credential stands for, if its token is a live access token and its
    /// membership still exists.
    fn actor(&self, credential: Credential) -> Result<Actor> {
        let token = &credential.token;
        if token.kind != TokenKind::Access || !token.is_live(self.now()) {
            return Err(Error::invalid_token());
        }
        let membership = credential.membership.ok_or_else(Error::invalid_token)?;
        Ok(Actor {
            user: credential.user,
            workspace_id: token.workspace_id.clone(),
            membership,
            token_id: token.id.clone(),
            family_id: token.family_id.clone(),
            client: token.client,
        })
    }

    /// Counts one request of `scope` from `identity` and says whether it may proceed.
    pub async fn rate_limit(&self, scope: RateScope, identity: &str) -> Result<RateDecision> {
        let key = format!("ratelimit:{}:{}", scope.name(), identity);
        let now = self.now();
        let window = self.ports.rate_limiter.hit(&key, scope.window_ms(), now).await?;
        Ok(RateDecision::from_count(scope, window.count, window.reset_at, now))
    }

    /// A new token of `kind` for the family, with its secret.
    pub(crate) fn mint_token(
        &self,
        kind: TokenKind,
        client: ClientKind,
        family_id: &FamilyId,
        user_id: &UserId,
        workspace_id: &WorkspaceId,
    ) -> (Secret, Token) {
        let now = self.now();
        let (secret_prefix, ttl) = match kind {
            TokenKind::Access => (prefix::ACCESS, self.config.access_ttl_seconds),
            TokenKind::Refresh => (prefix::REFRESH, self.config.refresh_ttl_seconds),
            TokenKind::Runtime => (prefix::RUNTIME, self.config.runtime_token_ttl_seconds),
        };
        let secret = self.secret(secret_prefix);
        let token = Token {
            id: TokenId::from_uuid(self.ports.random.uuid()),
            hash: secret.hash(),
            kind,
            client,
            family_id: family_id.clone(),
            user_id: user_id.clone(),
            workspace_id: workspace_id.clone(),
            created_at: now,
            expires_at: now.plus_seconds(ttl),
            used_at: None,
            revoked_at: None,
            session_id: None,
            version: 1,
        };
        (secret, token)
    }

    /// An audit entry stamped now.
    pub(crate) fn audit(
        &self,
        action: &str,
        actor: Option<&UserId>,
        workspace: Option<&WorkspaceId>,
        target: (&str, &str),
        details: serde_json::Value,
    ) -> Write {
        Write::Audit(AuditEntry {
            id: AuditId::from_uuid(self.ports.random.uuid()),
            action: action.to_string(),
            actor_user_id: actor.cloned(),
            workspace_id: workspace.cloned(),
            target_type: target.0.to_string(),
            target_id: target.1.to_string(),
            details,
            created_at: self.now(),
        })
    }

    /// A job for the batch: queued by the same commit as the batch's other writes (see
    /// [`commit`](Self::commit)).
    pub(crate) fn job(&self, job: Job, delay_seconds: u32) -> Write {
        let now = self.now();
        Write::Enqueue(QueuedJob {
            id: JobId::from_uuid(self.ports.random.uuid()),
            job,
            run_at: now.plus_seconds(i64::from(delay_seconds)),
            created_at: now,
        })
    }

    /// Commits the batch. Its jobs go with it where the job queue reads the store's own job table
    /// (an outbox: queued if and only if the batch commits); otherwise (Queues) they are sent
    /// right after the commit, and a send lost to an outage or a crash is repaired by reconcile,
    /// which sends again the jobs of builds left waiting (see `resend_waiting_builds`).
    pub(crate) async fn commit(&self, mut batch: Batch) -> Result<()> {
        let send_after = if self.ports.jobs.reads_store() { Vec::new() } else { batch.take_jobs() };
        self.ports.uow.commit(batch).await?;
        let now = self.now();
        for queued in send_after {
            let delay = u32::try_from((queued.run_at.millis() - now.millis()).max(0) / 1000).unwrap_or(u32::MAX);
            // Committed already: a failed send is the adapter's to log and reconcile's to repair.
            let _ = self.ports.jobs.enqueue(queued.job, delay).await;
        }
        Ok(())
    }

    /// The workspace as `role` sees it, with its member count and plan limits.
    pub(crate) async fn view(&self, workspace: Workspace, role: Role) -> Result<WorkspaceView> {
        let member_count = self.ports.workspaces.member_count(&workspace.id).await?;
        let limits = workspace.plan.limits();
        Ok(WorkspaceView { workspace, role, member_count, limits })
    }

    pub(crate) async fn workspace(&self, id: &WorkspaceId) -> Result<Workspace> {
        self.ports.workspaces.get(id).await?.ok_or_else(|| Error::new(Code::WorkspaceNotFound, "Workspace not found"))
    }
}

/// The hash an access token's secret is looked up by; any other kind of secret is 401.
fn access_hash(secret: &str) -> Result<SecretHash> {
    if !secret.starts_with(prefix::ACCESS) || !secret[prefix::ACCESS.len()..].starts_with('_') {
        return Err(Error::invalid_token());
    }
    Ok(SecretHash::of(secret))
}
