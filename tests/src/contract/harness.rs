//! One fresh backend per test: the adapter factories, a manual clock, cheap password hashing, and
//! the use cases over those ports. [`Harness::start`] is the suite's composition root.

use anyhow::Context as _;
use burstflare_adapters_memory::{FakeRuntime, MemoryBlobStore, MemoryStore};
use burstflare_adapters_sqlite::{FsBlobStore, SqliteStore};
use burstflare_adapters_system::testing::ManualClock;
use burstflare_adapters_system::{Argon2Params, Argon2idHasher, OsRandom};
use burstflare_core::blob::BlobStore;
use burstflare_core::error::PortError;
use burstflare_core::ids::WorkspaceId;
use burstflare_core::model::{AuditEntry, Invite, Member, Workspace};
use burstflare_core::ports::{Clock as _, JobSource, Ports, SystemPorts};
use burstflare_core::service::auth::Registration;
use burstflare_core::service::SignIn;
use burstflare_core::session_keys::SessionKeys;
use burstflare_core::store::{Batch, Write};
use burstflare_core::time::Timestamp;
use burstflare_core::values::ClientKind;
use burstflare_core::{Actor, Config, Service};
use std::sync::Arc;
use tempfile::TempDir;

/// Where every test's clock starts: 2026-02-27T00:00:00.000Z.
pub const START: Timestamp = Timestamp(1_772_150_400_000);

/// The password every scenario registers with.
pub const PASSWORD: &str = "correct horse battery";

/// The storage adapters the suite runs against. Adding a backend: one variant, one arm in
/// [`Harness::start`], one entry in `tests/tests/contract.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
}

/// A fresh store with its ports, the clock that drives them, and the use cases over them.
pub struct Harness {
    pub backend: Backend,
    pub ports: Ports,
    /// The backend's blob store (memory, or files in the SQLite backend's folder): `ports.blobs`.
    pub blobs: Arc<dyn BlobStore>,
    /// The runner's side of the job queue `ports.jobs` feeds.
    pub jobs: Arc<dyn JobSource>,
    pub clock: Arc<ManualClock>,
    /// The session runtime `ports.runtime` drives: a fake that can be told to fail, hang or die.
    pub runtime: Arc<FakeRuntime>,
    pub service: Service,
    /// The SQLite database's directory, removed on drop (after the ports, declared above it).
    _dir: Option<TempDir>,
}

impl Harness {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        let clock = ManualClock::shared(START);
        let system = SystemPorts {
            hasher: Arc::new(Argon2idHasher::new(Argon2Params::INSECURE_FAST)?),
            clock: clock.clone(),
            random: Arc::new(OsRandom),
        };
        let random = system.random.clone();
        let (ports, jobs, dir) = match backend {
            Backend::Memory => {
                let store = MemoryStore::new();
                let queue = Arc::new(store.job_queue(clock.clone(), random));
                let ports = Ports::new(store.storage(), Arc::new(MemoryBlobStore::new()), queue, system);
                (ports, store.job_source(), None)
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().context("creating the database directory")?;
                let store = SqliteStore::open_in(dir.path()).await?;
                let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs"))?);
                let queue = Arc::new(store.job_queue(clock.clone(), random));
                (Ports::new(store.storage(), blobs, queue, system), store.job_source(), Some(dir))
            }
        };
        let runtime = Arc::new(FakeRuntime::new());
        let ports = ports.with_runtime(runtime.clone(), SessionKeys::new(b"contract suite server secret...."));
        let blobs = ports.blobs.clone();
        let service = Service::new(ports.clone(), Config::default());
        Ok(Self { backend, ports, blobs, jobs, clock, runtime, service, _dir: dir })
    }

    /// Ports and job source over the same data through a fresh handle: the SQLite file opened
    /// again (new connections, nothing cached), or the same memory store.
    pub async fn reopened(&self) -> anyhow::Result<(Ports, Arc<dyn JobSource>)> {
        let Some(dir) = &self._dir else {
            return Ok((self.ports.clone(), self.jobs.clone()));
        };
        let store = SqliteStore::open_in(dir.path()).await?;
        let system = self.ports.system();
        let queue = Arc::new(store.job_queue(system.clock.clone(), system.random.clone()));
        let ports = Ports::new(store.storage(), self.ports.blobs.clone(), queue, system);
        let keys = self.ports.session_keys.clone().expect("the harness has session keys");
        Ok((ports.with_runtime(self.runtime.clone(), keys), store.job_source()))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Commits the writes as one batch.
    pub async fn commit(&self, writes: impl IntoIterator<Item = Write>) -> Result<(), PortError> {
        self.ports.uow.commit(Batch { writes: writes.into_iter().collect() }).await
    }

    /// Registers `email` with [`PASSWORD`] as an API client.
    pub async fn register(&self, email: &str) -> burstflare_core::Result<SignIn> {
        let input = Registration::parse(email, PASSWORD, None, ClientKind::Api)?;
        self.service.register(input).await
    }

    /// The caller an access token resolves to.
    pub async fn actor(&self, sign_in: &SignIn) -> burstflare_core::Result<Actor> {
        self.service.authenticate(sign_in.access.expose()).await
    }

    /// Everything a refused call on `workspace` must leave as it was.
    pub async fn snapshot(&self, workspace: &WorkspaceId) -> anyhow::Result<Snapshot> {
        Ok(Snapshot {
            workspace: self.ports.workspaces.get(workspace).await?,
            members: self.ports.memberships.list(workspace).await?,
            pending_invites: self.ports.invites.list_pending(workspace, self.now()).await?,
            audit: self.ports.audit.list(workspace, 200).await?,
        })
    }
}

/// The observable state of one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub workspace: Option<Workspace>,
    pub members: Vec<Member>,
    pub pending_invites: Vec<Invite>,
    pub audit: Vec<AuditEntry>,
}

/// Asserts a port call was refused with `Conflict`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, PortError>) {
    assert!(matches!(result, Err(PortError::Conflict(_))), "expected Conflict, got {result:?}");
}

/// Asserts a use case failed with this machine code, and returns the error for further checks.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: burstflare_core::Result<T>, code: &str) -> burstflare_core::Error {
    match result {
        Err(e) if e.code.as_str() == code => e,
        other => panic!("expected error code {code}, got {other:?}"),
    }
}
