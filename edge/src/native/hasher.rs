//! Runs another `PasswordHasher` on tokio's blocking pool: argon2 takes tens of milliseconds of
//! CPU, which must not stall the async workers serving other requests. At most one hash per core
//! runs at a time: each argon2id hash holds 19 MiB, so a burst of logins queues instead of growing
//! the server's memory without bound.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{PasswordHasher, PortResult};
use std::sync::Arc;

pub struct BlockingHasher {
    inner: Arc<dyn PasswordHasher>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl BlockingHasher {
    pub fn new(inner: Arc<dyn PasswordHasher>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self { inner, permits: Arc::new(tokio::sync::Semaphore::new(cores)) }
    }

    async fn offload<T: Send + 'static>(
        &self,
        work: impl FnOnce(Arc<dyn PasswordHasher>) -> PortResult<T> + Send + 'static,
    ) -> PortResult<T> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| PortError::Other(e.to_string()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(inner)
        })
        .await
        .map_err(|e| PortError::Other(format!("password hashing task failed: {e}")))?
    }
}

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &str) -> PortResult<String> {
        let password = password.to_string();
        let handle = tokio::runtime::Handle::current();
        self.offload(move |inner| handle.block_on(inner.hash(&password))).await
    }

    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        let (password, hash) = (password.to_string(), hash.to_string());
        let handle = tokio::runtime::Handle::current();
        self.offload(move |inner| handle.block_on(inner.verify(&password, &hash))).await
    }
}
