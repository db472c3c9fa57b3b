//! The driven ports: what the use cases need from the outside world, one small trait per
//! aggregate or capability, bundled in [`Ports`]. Every storage method returns
//! [`PortError`]: `Unavailable` when the backend cannot be reached, `Other` for anything
//! unexpected; reads never return `Conflict`.

use crate::blob::{BlobStore, ByteStream};
use crate::error::PortError;
use crate::ids::{BuildId, InviteId, JobId, SessionId, SnapshotId, TemplateId, UserId, VersionId, WorkspaceId};
use crate::model::{
    AuditEntry, Build, Credential, DeviceAuthorization, Invite, Member, Membership, Release, Session, SessionEvent,
    Snapshot, Template, TemplateVersion, UnfinishedSnapshot, UploadGrant, User, Workspace,
};
use crate::secret::SecretHash;
use crate::store::Batch;
use crate::time::Timestamp;
use crate::values::{Role, SessionState};
use async_trait::async_trait;
use std::sync::Arc;

pub type PortResult<T> = Result<T, PortError>;

#[async_trait]
pub trait UserRepo: Send + Sync {
    async fn get(&self, id: &UserId) -> PortResult<Option<User>>;
    /// Looks up by normalised (lower-cased) email; returns the user and the stored password hash.
    async fn find_by_email(&self, normalised_email: &str) -> PortResult<Option<(User, String)>>;
}

#[async_trait]
pub trait WorkspaceRepo: Send + Sync {
    async fn get(&self, id: &WorkspaceId) -> PortResult<Option<Workspace>>;
    /// Every workspace the user belongs to, with the user's role, oldest membership first.
    async fn list_for_user(&self, user: &UserId) -> PortResult<Vec<(Workspace, Role)>>;
    async fn member_count(&self, id: &WorkspaceId) -> PortResult<u32>;
}

#[async_trait]
pub trait MembershipRepo: Send + Sync {
    async fn get(&self, workspace: &WorkspaceId, user: &UserId) -> PortResult<Option<Membership>>;
    /// Members with their accounts, oldest first.
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Member>>;
}

#[async_trait]
pub trait InviteRepo: Send + Sync {
    /// The invite with this id, whatever its status or workspace (the caller checks both).
    async fn get(&self, id: &InviteId) -> PortResult<Option<Invite>>;
    async fn find_by_code(&self, code: &SecretHash) -> PortResult<Option<Invite>>;
    /// Pending invites of the workspace that have not expired at `now`, oldest first.
    async fn list_pending(&self, workspace: &WorkspaceId, now: Timestamp) -> PortResult<Vec<Invite>>;
}

#[async_trait]
pub trait TokenRepo: Send + Sync {
    /// The token with this hash, its user and the user's membership in the token's workspace.
    /// Returns the record whatever its state (revoked, expired, used): the caller decides.
    async fn find_credential(&self, hash: &SecretHash) -> PortResult<Option<Credential>>;
    /// [`find_credential`](Self::find_credential) with the token's workspace and its member
    /// count, in one read (what `GET /api/auth/me` shows; on D1 one round trip instead of two).
    async fn find_credential_with_workspace(&self, hash: &SecretHash) -> PortResult<Option<CredentialWithWorkspace>>;
}

/// A credential, and its token's workspace with the workspace's member count (`None` when the
/// workspace is gone).
pub type CredentialWithWorkspace = (Credential, Option<(Workspace, u32)>);

#[async_trait]
pub trait DeviceRepo: Send + Sync {
    async fn find_by_device_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>>;
    async fn find_by_user_code(&self, hash: &SecretHash) -> PortResult<Option<DeviceAuthorization>>;
}

#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// The newest `limit` entries of the workspace, newest first.
    async fn list(&self, workspace: &WorkspaceId, limit: u32) -> PortResult<Vec<AuditEntry>>;
}

/// Commits a batch all or nothing (see [`crate::store`]).
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Returns `Conflict` when a guarded row changed or a uniqueness rule was hit; nothing is
    /// written then. Returns `Unavailable` when the backend is down; nothing is written then either.
    async fn commit(&self, batch: Batch) -> PortResult<()>;
}

/// How many expired records one housekeeping pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub tokens: u64,
    pub device_codes: u64,
    pub rate_windows: u64,
}

/// Removes records that can no longer matter: tokens and device codes past their expiry, and
/// rate-limit windows that have ended. Each table is pruned on its own (no batch needed: a
/// record past expiry is refused by every use case whether or not it is still stored).
#[async_trait]
pub trait Housekeeping: Send + Sync {
    async fn purge_expired(&self, now: Timestamp) -> PortResult<Purged>;
}

/// Background work. On Cloudflare it travels through Queues; natively through a jobs table that
/// an in-process runner claims from, so queued work survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// Housekeeping across the deployment; `source` says who asked (`scheduled`, `manual`).
    Reconcile {
        #[serde(default)]
        source: Option<String>,
    },
    /// Check one template build.
    Build {
        #[serde(rename = "buildId")]
        build_id: BuildId,
    },
}

/// A job as a batch queues it (see `Write::Enqueue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    pub id: JobId,
    pub job: Job,
    /// Not run before this time.
    pub run_at: Timestamp,
    pub created_at: Timestamp,
}

/// Sends jobs to whatever runs them.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Schedules `job` to run after `delay_seconds` (0: as soon as possible). Returns
    /// `Unavailable` when the queue cannot take the job; nothing was sent then.
    async fn enqueue(&self, job: Job, delay_seconds: u32) -> PortResult<()>;
    /// True when this queue is the store's own job table, so the `Write::Enqueue` of a batch
    /// queues its job atomically with the batch; false when jobs must be sent after the commit.
    fn reads_store(&self) -> bool;
}

/// A job taken by a local runner, leased until it completes or is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub job: Job,
    /// How many times this job was claimed, this time included.
    pub attempts: u32,
}

/// The runner's side of the local job table.
#[async_trait]
pub trait JobSource: Send + Sync {
    /// Takes the oldest job that is due at `now` and not leased (or whose lease ended), leasing
    /// it until `now + lease_ms`. Two runners never get the same job while a lease holds.
    async fn claim(&self, now: Timestamp, lease_ms: i64) -> PortResult<Option<ClaimedJob>>;
    /// Removes a finished job.
    async fn complete(&self, id: &JobId) -> PortResult<()>;
    /// Gives a job back to run again at `run_at`.
    async fn release(&self, id: &JobId, run_at: Timestamp) -> PortResult<()>;
}

#[async_trait]
pub trait TemplateRepo: Send + Sync {
    /// The template if it belongs to the workspace.
    async fn get(&self, workspace: &WorkspaceId, id: &TemplateId) -> PortResult<Option<Template>>;
    /// Templates of the workspace (archived included), oldest first.
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Template>>;
    /// Versions of the template, oldest first.
    async fn versions(&self, template: &TemplateId) -> PortResult<Vec<TemplateVersion>>;
    async fn get_version(&self, template: &TemplateId, id: &VersionId) -> PortResult<Option<TemplateVersion>>;
    /// Releases of the workspace (of one template if given), newest first.
    async fn releases(&self, workspace: &WorkspaceId, template: Option<&TemplateId>) -> PortResult<Vec<Release>>;
}

#[async_trait]
pub trait BuildRepo: Send + Sync {
    async fn get(&self, id: &BuildId) -> PortResult<Option<Build>>;
    async fn for_version(&self, version: &VersionId) -> PortResult<Option<Build>>;
    /// Builds of the workspace, oldest first.
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Build>>;
    /// Builds of every workspace still `building` that started at or before `before`.
    async fn stuck(&self, before: Timestamp) -> PortResult<Vec<Build>>;
    /// Builds of every workspace `queued` or `retrying` whose last change was at or before `before`.
    async fn waiting(&self, before: Timestamp) -> PortResult<Vec<Build>>;
}

#[async_trait]
pub trait UploadGrantRepo: Send + Sync {
    async fn find_by_secret(&self, hash: &SecretHash) -> PortResult<Option<UploadGrant>>;
}

/// Metering: what the workspace used.
#[async_trait]
pub trait UsageRepo: Send + Sync {
    /// The sum of each kind's values recorded at or after `since`, by kind in name order.
    async fn totals(&self, workspace: &WorkspaceId, since: Timestamp) -> PortResult<Vec<(String, i64)>>;
}

/// Sessions and their histories.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// The session if it belongs to the workspace, whatever its state (deleted ones until purged).
    async fn get(&self, workspace: &WorkspaceId, id: &SessionId) -> PortResult<Option<Session>>;
    /// Live (not deleted) sessions of the workspace, oldest first.
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Session>>;
    /// The session's events in the order they were appended.
    async fn events(&self, session: &SessionId) -> PortResult<Vec<SessionEvent>>;
    /// Sessions of every workspace (or of one) in any of `states`, oldest first (for reconcile).
    async fn in_states(&self, workspace: Option<&WorkspaceId>, states: &[SessionState]) -> PortResult<Vec<Session>>;
}

/// Snapshots of sessions and each session's "latest good" pointer.
#[async_trait]
pub trait SnapshotRepo: Send + Sync {
    /// The snapshot if it belongs to the session.
    async fn get(&self, session: &SessionId, id: &SnapshotId) -> PortResult<Option<Snapshot>>;
    /// Any snapshot by id, whatever its session (reconcile's sweep of orphaned objects).
    async fn find(&self, id: &SnapshotId) -> PortResult<Option<Snapshot>>;
    /// The session's snapshots, oldest first.
    async fn list(&self, session: &SessionId) -> PortResult<Vec<Snapshot>>;
    /// The snapshot the session's pointer names (always one with content), if any.
    async fn latest(&self, session: &SessionId) -> PortResult<Option<Snapshot>>;
    /// Snapshots of every workspace (or of one) that have no content and were created at or
    /// before `before`, oldest first, each with the last expiry of its upload grants.
    async fn unfinished(
        &self,
        workspace: Option<&WorkspaceId>,
        before: Timestamp,
    ) -> PortResult<Vec<UnfinishedSnapshot>>;
    /// The bytes of content the workspace's snapshots hold.
    async fn stored_bytes(&self, workspace: &WorkspaceId) -> PortResult<u64>;
}

/// What a runtime needs to boot a session.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSpec {
    pub session_id: SessionId,
    pub workspace_id: WorkspaceId,
    pub template_id: TemplateId,
    pub version_id: VersionId,
    pub manifest: crate::manifest::Manifest,
    /// Where the version's bundle is stored (unpacked into the workspace on first start).
    pub bundle_key: Option<String>,
}

/// What a runtime says of a session it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeStatus {
    /// The session's agent answers; `last_activity` is the last real use it saw (terminal or SSH
    /// input, a preview request), if any.
    Running {
        last_activity: Option<Timestamp>,
    },
    Stopped,
}

/// Where the edge reaches a running session's agent, and the secret the agent wants on every
/// request (header [`AGENT_SECRET_HEADER`]).
#[derive(Clone, PartialEq, Eq)]
pub struct AgentEndpoint {
    pub address: AgentAddress,
    pub secret: String,
}

impl std::fmt::Debug for AgentEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentEndpoint").field("address", &self.address).field("secret", &"<redacted>").finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentAddress {
    /// A unix socket path on this host.
    Unix(String),
    /// `host:port`.
    Tcp(String),
}

/// The request header that carries an agent's secret.
pub const AGENT_SECRET_HEADER: &str = "x-burstflare-agent-secret";

/// The header of an agent's `GET /persist` answer numbering the archive, for readers that cannot
/// see its digest trailer (`GET /persist/digest?archive=N`).
pub const ARCHIVE_HEADER: &str = "x-burstflare-archive";

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the `proxy-connection` some clients still send):
/// never forwarded as they are by the proxies between a client and a session's app (the edge's,
/// in both shapes, and the agent's).
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Starts, stops and reports on the runtime of a session (a container, a local process, a fake).
/// Called around the guarded transitions, never instead of them.
#[async_trait]
pub trait RuntimeDriver: Send + Sync {
    /// Boots the session and returns once it reports healthy. `Other(reason)` when it could not
    /// start (the reason is shown to the user); `Unavailable` when the driver itself is down.
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()>;
    /// Shuts the session's runtime down; stopping one that is not running is not an error.
    async fn stop(&self, session: &SessionId) -> PortResult<()>;
    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus>;
    /// The last `max_bytes` of the output of the session's command (empty when it never ran).
    async fn logs(&self, session: &SessionId, max_bytes: usize) -> PortResult<String>;
    /// Where the edge reaches the session's agent; `None` when this driver is not reached over
    /// a socket of this host (the Worker reaches containers through the session's Durable Object).
    fn endpoint(&self, session: &SessionId) -> Option<AgentEndpoint>;
    /// Whether [`save`](Self::save) and [`restore`](Self::restore) work here; a driver that says
    /// no is never asked (its sessions keep their files only as long as their runtime does).
    fn keeps_persisted_paths(&self) -> bool {
        false
    }
    /// Streams an archive (tar + zstd) of the running session's persisted paths. The stream
    /// ends with an error, never cleanly, when the archive is incomplete or its digest does not
    /// match (where the runtime can check one). `Other(reason)` when the runtime cannot save
    /// (not running, refused); `Unavailable` when it cannot be reached.
    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        let _ = session;
        Err(PortError::Other("this runtime does not save persisted paths".into()))
    }
    /// Replaces the running session's persisted paths with `archive` (made by [`save`](Self::save)).
    /// `Other(reason)` when the runtime refuses the archive (a name outside the persisted paths,
    /// `..`, an absolute name, a link out of the workspace): nothing changed then.
    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        let _ = (session, archive);
        Err(PortError::Other("this runtime does not restore persisted paths".into()))
    }
}

/// The state of one fixed-window counter after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current window, this one included.
    pub count: u32,
    pub reset_at: Timestamp,
}

/// Fixed-window counters. Every hit counts, including those that end up refused.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Adds one hit to `key`'s window (starting a new window of `window_ms` if the current one
    /// ended at or before `now`) and returns the window's state, atomically.
    async fn hit(&self, key: &str, window_ms: i64, now: Timestamp) -> PortResult<WindowCount>;
}

/// Hashes and verifies passwords. Hashes are self-describing (PHC strings naming the algorithm
/// and its parameters), so any adapter can verify another's.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> PortResult<String>;
    /// False for a wrong password or a hash it cannot parse.
    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    /// Waits `millis` before a retry (the wall clock sleeps; test clocks and shapes without a
    /// timer return at once).
    fn pause(&self, millis: u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let _ = millis;
        Box::pin(std::future::ready(()))
    }
}

/// Randomness: UUIDs for ids, 32 bytes for secrets.
pub trait Random: Send + Sync {
    /// A new id. The system adapters make them time-ordered ([`time_ordered_uuid`]), so rows
    /// created together sit together in every index keyed by id; ids are never secrets.
    fn uuid(&self) -> uuid::Uuid;
    fn bytes32(&self) -> [u8; 32];
}

/// A version-7 UUID: the Unix time in milliseconds, then 74 random bits. New ids sort after
/// older ones, so a row's insert lands on the last page of its primary key instead of a random
/// one, and a commit writes a few pages rather than one per row.
pub fn time_ordered_uuid(unix_millis: i64, random: [u8; 10]) -> uuid::Uuid {
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(unix_millis).unwrap_or(0), &random).into_uuid()
}

/// What a storage adapter provides: the repositories, the unit of work that commits batches to
/// them, the rate-limit counters and housekeeping, all over one database. Objects ([`BlobStore`]),
/// jobs ([`JobQueue`]) and the [`SystemPorts`] come from elsewhere; a composition root joins them
/// in [`Ports::new`].
#[derive(Clone)]
pub struct Storage {
    pub users: Arc<dyn UserRepo>,
    pub workspaces: Arc<dyn WorkspaceRepo>,
    pub memberships: Arc<dyn MembershipRepo>,
    pub invites: Arc<dyn InviteRepo>,
    pub tokens: Arc<dyn TokenRepo>,
    pub devices: Arc<dyn DeviceRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub uow: Arc<dyn UnitOfWork>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub housekeeping: Arc<dyn Housekeeping>,
    pub templates: Arc<dyn TemplateRepo>,
    pub builds: Arc<dyn BuildRepo>,
    pub grants: Arc<dyn UploadGrantRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub usage: Arc<dyn UsageRepo>,
    pub snapshots: Arc<dyn SnapshotRepo>,
}

impl Storage {
    /// Every storage port from one value that implements them all.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: UserRepo
            + WorkspaceRepo
            + MembershipRepo
            + InviteRepo
            + TokenRepo
            + DeviceRepo
            + AuditRepo
            + UnitOfWork
            + RateLimiter
            + Housekeeping
            + TemplateRepo
            + BuildRepo
            + UploadGrantRepo
            + SessionRepo
            + UsageRepo
            + SnapshotRepo
            + 'static,
    {
        Self {
            users: store.clone(),
            workspaces: store.clone(),
            memberships: store.clone(),
            invites: store.clone(),
            tokens: store.clone(),
            devices: store.clone(),
            audit: store.clone(),
            uow: store.clone(),
            rate_limiter: store.clone(),
            housekeeping: store.clone(),
            templates: store.clone(),
            builds: store.clone(),
            grants: store.clone(),
            sessions: store.clone(),
            usage: store.clone(),
            snapshots: store,
        }
    }
}

/// Everything the use cases call, one handle per port. Each binary assembles its own with
/// [`Ports::new`] where it starts (the native server, the Worker entry, the test harness). The
/// storage ports are read through it as if they were its own fields (`ports.users`).
#[derive(Clone)]
pub struct Ports {
    pub storage: Storage,
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobQueue>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// The session runtime, if this deployment has one (a server without a driver refuses to
    /// start sessions with a 503 that says so).
    pub runtime: Option<Arc<dyn RuntimeDriver>>,
    /// Where each session's SSH host key and agent secret come from (with the runtime).
    pub session_keys: Option<crate::session_keys::SessionKeys>,
}

impl Ports {
    /// Joins a storage adapter's ports with the blob store, the job queue and the system ports.
    pub fn new(storage: Storage, blobs: Arc<dyn BlobStore>, jobs: Arc<dyn JobQueue>, system: SystemPorts) -> Self {
        let SystemPorts { hasher, clock, random } = system;
        Self { storage, blobs, jobs, hasher, clock, random, runtime: None, session_keys: None }
    }

    /// The same ports with a session runtime and the keys its sessions are given.
    pub fn with_runtime(self, runtime: Arc<dyn RuntimeDriver>, keys: crate::session_keys::SessionKeys) -> Self {
        Self { runtime: Some(runtime), session_keys: Some(keys), ..self }
    }

    /// The system ports of this bundle.
    pub fn system(&self) -> SystemPorts {
        SystemPorts { hasher: self.hasher.clone(), clock: self.clock.clone(), random: self.random.clone() }
    }
}

impl std::ops::Deref for Ports {
    type Target = Storage;
    fn deref(&self) -> &Storage {
        &self.storage
    }
}

impl std::ops::DerefMut for Ports {
    fn deref_mut(&mut self) -> &mut Storage {
        &mut self.storage
    }
}

/// The ports that do not depend on where data is stored: password hashing, time and randomness.
/// Provided by the system adapters of each shape (the native process, the Worker runtime, a test
/// clock), never by a storage adapter.
#[derive(Clone)]
pub struct SystemPorts {
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
}
