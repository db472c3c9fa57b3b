//! In-memory implementations of every storage port of `burstflare-core` — for tests and
//! `--ephemeral` runs — and, in [`system`], the process-local ports (clock, randomness, password
//! hashing) that every native shape shares. The store passes the same contract suite as SQLite.
#![forbid(unsafe_code)]

mod blobs;
mod commit;
mod jobs;
mod repos;
mod state;
pub mod system;
mod templates;

pub use blobs::MemoryBlobStore;
pub use jobs::MemoryJobQueue;
pub use system::{
    system_ports, Argon2Memory, Argon2Params, Argon2idHasher, ManualClock, OsRandom, SystemClock, MAX_VERIFY_MEMORY_KIB,
};

use burstflare_core::error::PortError;
use burstflare_core::ports::{JobSource, PortResult, Ports, SystemPorts};
use state::State;
use std::fmt;
use std::sync::{Arc, Mutex};

/// All storage ports over one state behind one lock: every read sees a committed state, and a
/// batch is checked and applied while the lock is held; objects live in a [`MemoryBlobStore`] of
/// its own. Clones share the same data.
#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    blobs: Arc<MemoryBlobStore>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self { state: Arc::default(), blobs: Arc::new(MemoryBlobStore::new()) }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The full set of ports: this store for every storage port (objects in its blob store, jobs
    /// in its job table), `system` for the rest.
    pub fn ports(&self, system: SystemPorts) -> Ports {
        let jobs = MemoryJobQueue::new(self.clone(), system.clock.clone(), system.random.clone());
        Ports {
            users: Arc::new(self.clone()),
            workspaces: Arc::new(self.clone()),
            memberships: Arc::new(self.clone()),
            invites: Arc::new(self.clone()),
            tokens: Arc::new(self.clone()),
            devices: Arc::new(self.clone()),
            audit: Arc::new(self.clone()),
            uow: Arc::new(self.clone()),
            rate_limiter: Arc::new(self.clone()),
            housekeeping: Arc::new(self.clone()),
            templates: Arc::new(self.clone()),
            builds: Arc::new(self.clone()),
            grants: Arc::new(self.clone()),
            blobs: self.blobs.clone(),
            jobs: Arc::new(jobs),
            hasher: system.hasher,
            clock: system.clock,
            random: system.random,
        }
    }

    /// The runner's side of the job table that [`ports`](Self::ports) enqueues into.
    pub fn job_source(&self) -> Arc<dyn JobSource> {
        Arc::new(self.clone())
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> PortResult<T> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        Ok(f(&state))
    }

    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut State) -> PortResult<T>) -> PortResult<T> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        f(&mut state)
    }
}

/// A panic while the lock was held; the state may be half-updated, so refuse to serve it.
fn poisoned() -> PortError {
    PortError::Unavailable("memory store is poisoned by an earlier panic".to_string())
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}
