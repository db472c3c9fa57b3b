//! BurstFlare's Cloudflare adapters, which the Worker entry in `edge` assembles into its ports:
//! the D1 executor under the shared SQL repositories (so D1 and SQLite run the same statements,
//! including the rate-limit counters, which live in D1 because KV is neither atomic nor
//! immediately consistent), the R2 blob store, a WebCrypto PBKDF2 password hasher, the Queues job
//! producer, and the runtime's clock and randomness. JS futures are not `Send`; every adapter wraps them in `SendFuture` so the shared
//! `#[async_trait]` ports keep their `Send` bound.
//!
//! The crate type-checks natively too (so workspace-wide lints cover it), but only runs in workerd.
#![forbid(unsafe_code)]

mod d1;
mod hasher;
mod queue;
mod r2;
mod r2_body;
mod r2_parts;
mod system;

pub use d1::D1Executor;
pub use hasher::{phc_pbkdf2, WebCryptoHasher, PBKDF2_ITERATIONS};
pub use queue::QueueJobs;
pub use r2::R2BlobStore;
pub use system::{WorkerClock, WorkerRandom};

use burstflare_adapters_sql::SqlRepos;
use burstflare_core::ports::{Storage, SystemPorts};
use std::sync::Arc;

/// The storage ports on Cloudflare: the shared SQL repositories over D1. The Worker entry joins
/// them with R2 ([`R2BlobStore`]), Queues ([`QueueJobs`]) and [`system_ports`].
pub fn d1_storage(db: worker::D1Database) -> Storage {
    SqlRepos::new(Arc::new(D1Executor::new(db))).into_storage()
}

/// The Worker runtime's clock and randomness, and WebCrypto PBKDF2 password hashing.
pub fn system_ports() -> SystemPorts {
    SystemPorts { hasher: Arc::new(WebCryptoHasher), clock: Arc::new(WorkerClock), random: Arc::new(WorkerRandom) }
}
