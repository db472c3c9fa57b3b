//! The native server's `PasswordHasher`: hashing runs on a [`HashPool`], never on the async
//! workers (argon2 takes tens of milliseconds of CPU) and never in fresh memory per hash (each
//! argon2id hash works in 19 MiB; see `hash_pool` for why that matters). argon2id works in the
//! pool's kept buffers; any other hasher (a cheaper one a test supplies) just runs on its threads.

use crate::argon2id::Argon2idHasher;
use crate::hash_pool::HashPool;
use async_trait::async_trait;
use burstflare_core::ports::{PasswordHasher, PortResult};
use std::sync::Arc;

pub struct PooledHasher {
    pool: HashPool,
    engine: Engine,
}

enum Engine {
    Argon2id(Arc<Argon2idHasher>),
    Other(Arc<dyn PasswordHasher>),
}

impl PooledHasher {
    /// argon2id on `workers` threads, each keeping the memory for one hash.
    pub fn argon2id(hasher: Argon2idHasher, workers: usize) -> std::io::Result<Self> {
        let hasher = Arc::new(hasher);
        let for_pool = hasher.clone();
        let pool = HashPool::start(workers, move || for_pool.memory())?;
        Ok(Self { pool, engine: Engine::Argon2id(hasher) })
    }

    /// Any hasher, run on `workers` threads (which then keep no argon2 memory of their own).
    pub fn other(inner: Arc<dyn PasswordHasher>, workers: usize) -> std::io::Result<Self> {
        let unused = Argon2idHasher::default();
        let pool = HashPool::start(workers, move || unused.memory())?;
        Ok(Self { pool, engine: Engine::Other(inner) })
    }
}

#[async_trait]
impl PasswordHasher for PooledHasher {
    async fn hash(&self, password: &str) -> PortResult<String> {
        let password = password.to_string();
        match &self.engine {
            Engine::Argon2id(hasher) => {
                let hasher = hasher.clone();
                self.pool.run(move |memory| hasher.hash_with(&password, memory)).await?
            }
            Engine::Other(inner) => {
                let (inner, handle) = (inner.clone(), tokio::runtime::Handle::current());
                self.pool.run(move |_| handle.block_on(inner.hash(&password))).await?
            }
        }
    }

    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        let (password, hash) = (password.to_string(), hash.to_string());
        match &self.engine {
            Engine::Argon2id(hasher) => {
                let hasher = hasher.clone();
                self.pool.run(move |memory| hasher.verify_with(&password, &hash, memory)).await
            }
            Engine::Other(inner) => {
                let (inner, handle) = (inner.clone(), tokio::runtime::Handle::current());
                self.pool.run(move |_| handle.block_on(inner.verify(&password, &hash))).await?
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argon2id::Argon2Params;

    /// Made by the argon2id hasher before hashing moved onto the pool.
    const OLD_HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$eyRaM7noKXkmiXRspdo7Qw$slNQSNkK5Y4hPre005nwoIuDs6RICat6zsnSLJVcXqE";

    fn fast(workers: usize) -> PooledHasher {
        PooledHasher::argon2id(Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap(), workers).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = fast(2);
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", &hash).await.unwrap());
        assert!(!hasher.verify("wrong horse", &hash).await.unwrap());
        assert!(!hasher.verify("correct horse", "not a phc string").await.unwrap());
    }

    #[tokio::test]
    async fn stored_hashes_keep_verifying() {
        let default = PooledHasher::argon2id(Argon2idHasher::default(), 1).unwrap();
        for hasher in [&default, &fast(1)] {
            assert!(hasher.verify("correct horse battery", OLD_HASH).await.unwrap());
            assert!(!hasher.verify("correct horse batterz", OLD_HASH).await.unwrap());
        }
        // PBKDF2-SHA256 as the Worker writes it (here with 1,000 rounds; made with Python's hashlib).
        let pbkdf2 = "$pbkdf2-sha256$i=1000,l=32$MDEyMzQ1Njc4OWFiY2RlZg$wBE2+eQ3YCdfzbNTDyog+I+uO6+Y/GZ5LLYLw8iNqXU";
        assert!(default.verify("pw-123456", pbkdf2).await.unwrap());
        assert!(!default.verify("pw-654321", pbkdf2).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_verifies_all_complete() {
        let hasher = Arc::new(fast(2));
        let hash = hasher.hash("pw-123456").await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                let password = if i % 2 == 0 { "pw-123456" } else { "pw-654321" };
                tokio::spawn(async move { (i, hasher.verify(password, &hash).await.unwrap()) })
            })
            .collect();
        for task in tasks {
            let (i, ok) = task.await.unwrap();
            assert_eq!(ok, i % 2 == 0, "task {i}");
        }
    }

    #[tokio::test]
    async fn another_hasher_runs_on_the_pool() {
        struct WhereAmI;
        #[async_trait]
        impl PasswordHasher for WhereAmI {
            async fn hash(&self, _: &str) -> PortResult<String> {
                Ok(std::thread::current().name().unwrap_or("").to_string())
            }
            async fn verify(&self, password: &str, _: &str) -> PortResult<bool> {
                Ok(password == "yes")
            }
        }
        let hasher = PooledHasher::other(Arc::new(WhereAmI), 1).unwrap();
        assert_eq!(hasher.hash("x").await.unwrap(), "burstflare-hash-0");
        assert!(hasher.verify("yes", "h").await.unwrap());
        assert!(!hasher.verify("no", "h").await.unwrap());
    }
}
