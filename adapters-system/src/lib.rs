//! The system ports of BurstFlare's native shapes (the server, the CLI's local runs, tests and
//! the benchmark), whatever stores their data: the wall clock, the OS random source and argon2id
//! password hashing, either inline ([`Argon2idHasher`]) or on a fixed pool of threads that keep
//! their argon2 memory ([`PooledHasher`], what the native server uses). [`testing`] holds the
//! clock tests move by hand.
#![forbid(unsafe_code)]

mod argon2id;
mod clock;
mod hash_pool;
mod pooled;
mod random;
pub mod testing;

pub use argon2id::{Argon2Memory, Argon2Params, Argon2idHasher, MAX_VERIFY_MEMORY_KIB};
pub use clock::SystemClock;
pub use hash_pool::{HashPool, MAX_WORKERS};
pub use pooled::PooledHasher;
pub use random::OsRandom;

use burstflare_core::ports::SystemPorts;
use std::sync::Arc;

/// The wall clock, the OS random source and default argon2id, hashing on the caller's thread.
pub fn system_ports() -> SystemPorts {
    SystemPorts {
        hasher: Arc::new(Argon2idHasher::default()),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
    }
}

/// Like [`system_ports`], with default argon2id hashing on a [`PooledHasher`] of `workers`
/// threads. Fails when the threads cannot be started.
pub fn pooled_system_ports(workers: usize) -> std::io::Result<SystemPorts> {
    let hasher = PooledHasher::argon2id(Argon2idHasher::default(), workers)?;
    Ok(SystemPorts { hasher: Arc::new(hasher), ..system_ports() })
}
