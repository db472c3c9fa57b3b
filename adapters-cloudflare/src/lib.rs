//! BurstFlare's Cloudflare adapters, used by the Worker entry in `edge`: the D1 executor under the
//! shared SQL repositories (so D1 and SQLite run the same statements, including the rate-limit
//! counters, which live in D1 because KV is neither atomic nor immediately consistent), a
//! WebCrypto PBKDF2 password hasher, the Queues job producer, and the runtime's clock and
//! randomness. JS futures are not `Send`; every adapter wraps them in `SendFuture` so the shared
//! `#[async_trait]` ports keep their `Send` bound.
//!
//! The crate type-checks natively too (so workspace-wide lints cover it), but only runs in workerd.
#![forbid(unsafe_code)]

mod d1;
mod hasher;
mod queue;
mod r2;
mod system;

pub use d1::D1Executor;
pub use hasher::{phc_pbkdf2, WebCryptoHasher, PBKDF2_ITERATIONS};
pub use queue::QueueJobs;
pub use r2::R2BlobStore;
pub use system::{WorkerClock, WorkerRandom};

use burstflare_adapters_sql::SqlRepos;
use burstflare_core::blob::BlobStore;
use burstflare_core::ports::{JobQueue, Ports, SystemPorts};
use std::sync::Arc;

/// Every port of core on Cloudflare: the SQL repositories over D1, `blobs` for objects (R2),
/// `jobs` in place of the SQL `jobs` table (Queues: the platform runs the consumer), plus the
/// Worker's clock, randomness and password hasher.
pub fn ports(db: worker::D1Database, blobs: Arc<dyn BlobStore>, jobs: Arc<dyn JobQueue>) -> Ports {
    let system =
        SystemPorts { hasher: Arc::new(WebCryptoHasher), clock: Arc::new(WorkerClock), random: Arc::new(WorkerRandom) };
    Ports { jobs, ..SqlRepos::new(Arc::new(D1Executor::new(db))).into_ports(system, blobs) }
}
