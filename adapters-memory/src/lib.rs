//! In-memory implementations of every storage port of `burstflare-core` — for tests and
//! `--ephemeral` runs — and, in [`system`], the process-local ports (clock, randomness, password
//! hashing) that every native shape shares. The store passes the same contract suite as SQLite.
#![forbid(unsafe_code)]

mod commit;
mod repos;
mod state;
pub mod system;

pub use system::{system_ports, Argon2Params, Argon2idHasher, ManualClock, OsRandom, SystemClock};

use burstflare_core::error::PortError;
use burstflare_core::ports::{PortResult, Ports, SystemPorts};
use state::State;
use std::fmt;
use std::sync::{Arc, Mutex};

/// All storage ports over one state behind one lock: every read sees a committed state, and a
/// batch is checked and applied while the lock is held. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The full set of ports: this store for every storage port, `system` for the rest.
    pub fn ports(&self, system: SystemPorts) -> Ports {
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
            hasher: system.hasher,
            clock: system.clock,
            random: system.random,
        }
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
