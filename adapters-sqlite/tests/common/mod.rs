//! Fixtures for the SQLite adapter's tests: stub system ports, a fresh database per test, and
//! records built the way the use cases build them.
#![allow(dead_code)]

use async_trait::async_trait;
use burstflare_adapters_sqlite::{FsBlobStore, SqliteStore};
use burstflare_core::ids::{UserId, WorkspaceId};
use burstflare_core::model::{Membership, User, Workspace};
use burstflare_core::ports::{Clock, PasswordHasher, PortResult, Ports, Random, SystemPorts};
use burstflare_core::store::{Batch, Write};
use burstflare_core::time::Timestamp;
use burstflare_core::values::{DisplayName, Email, Plan, Role};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub const NOW: Timestamp = Timestamp(1_772_150_400_000);

struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &str) -> PortResult<String> {
        Ok(format!("plain${password}"))
    }
    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        Ok(hash == format!("plain${password}"))
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        NOW
    }
}

struct CountingRandom(AtomicU64);

impl Random for CountingRandom {
    fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::from_u128(u128::from(self.0.fetch_add(1, Ordering::Relaxed)))
    }
    fn bytes32(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&self.0.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        bytes
    }
}

pub fn system() -> SystemPorts {
    SystemPorts {
        hasher: Arc::new(PlainHasher),
        clock: Arc::new(FixedClock),
        random: Arc::new(CountingRandom(AtomicU64::new(1))),
    }
}

/// A fresh database in its own directory, removed on drop.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub ports: Ports,
}

/// The store's ports over [`system`], with blobs in `dir/blobs` and jobs in its `jobs` table.
pub fn ports(store: &SqliteStore, dir: &Path) -> Ports {
    let system = system();
    let jobs = Arc::new(store.job_queue(system.clock.clone(), system.random.clone()));
    Ports::new(store.storage(), Arc::new(FsBlobStore::new(dir.join("blobs")).expect("blob store")), jobs, system)
}

pub async fn fresh() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in(dir.path()).await.expect("open");
    let ports = ports(&store, dir.path());
    TestDb { dir, store, ports }
}

pub fn user(n: u32, email: &str) -> User {
    User {
        id: UserId::from_raw(format!("usr_{n}")),
        email: Email::parse(email).expect("email"),
        name: DisplayName::parse(&format!("User {n}")).expect("name"),
        created_at: NOW,
    }
}

pub fn workspace(n: u32, owner: &User) -> Workspace {
    Workspace {
        id: WorkspaceId::from_raw(format!("ws_{n}")),
        name: format!("Workspace {n}"),
        owner_user_id: owner.id.clone(),
        plan: Plan::Free,
        created_at: NOW,
        version: 1,
    }
}

pub fn membership(workspace: &Workspace, user: &User, role: Role) -> Membership {
    Membership { workspace_id: workspace.id.clone(), user_id: user.id.clone(), role, created_at: NOW, version: 1 }
}

/// Commits a user with their own workspace (as owner), like registration does.
pub async fn register(ports: &Ports, n: u32, email: &str) -> (User, Workspace) {
    let user = user(n, email);
    let workspace = workspace(n, &user);
    let mut batch = Batch::new();
    batch
        .push(Write::CreateUser { user: user.clone(), password_hash: format!("plain$pw{n}") })
        .push(Write::CreateWorkspace(workspace.clone()))
        .push(Write::CreateMembership(membership(&workspace, &user, Role::Owner)));
    ports.uow.commit(batch).await.expect("register");
    (user, workspace)
}
