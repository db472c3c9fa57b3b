//! In-memory implementations of every storage port of `burstflare-core`, of the blob store and of
//! the local job queue, for tests and `--ephemeral` runs. The store passes the same contract suite
//! as SQLite.
#![forbid(unsafe_code)]

mod blobs;
mod commit;
mod jobs;
mod repos;
mod runtime;
mod sessions;
mod snapshots;
mod state;
mod templates;

pub use blobs::MemoryBlobStore;
pub use jobs::MemoryJobQueue;
pub use runtime::{FakeRuntime, FakeStart, FAKE_ARCHIVE_HEADER};

use burstflare_core::error::PortError;
use burstflare_core::ports::{Clock, JobSource, PortResult, Random, Storage};
use state::State;
use std::fmt;
use std::sync::{Arc, Mutex};

/// All storage ports over one state behind one lock: every read sees a committed state, and a
/// batch is checked and applied while the lock is held. Clones share the same data. Objects live
/// in a [`MemoryBlobStore`] of their own.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The storage ports: this store for every one of them.
    pub fn storage(&self) -> Storage {
        Storage::of(Arc::new(self.clone()))
    }

    /// The local job queue: this store's job table, stamping jobs with `clock`'s time and ids from
    /// `random`. Batches queue their jobs in the same table, atomically with their writes.
    pub fn job_queue(&self, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> MemoryJobQueue {
        MemoryJobQueue::new(self.clone(), clock, random)
    }

    /// The runner's side of the job table that [`job_queue`](Self::job_queue) enqueues into.
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
