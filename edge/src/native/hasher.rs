//! Runs another `PasswordHasher` on tokio's blocking pool: argon2 takes tens of milliseconds of
//! CPU, which must not stall the async workers serving other requests.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{PasswordHasher, PortResult};
use std::sync::Arc;

pub struct BlockingHasher {
    inner: Arc<dyn PasswordHasher>,
}

impl BlockingHasher {
    pub fn new(inner: Arc<dyn PasswordHasher>) -> Self {
        Self { inner }
    }

    async fn offload<T: Send + 'static>(
        &self,
        work: impl FnOnce(Arc<dyn PasswordHasher>) -> PortResult<T> + Send + 'static,
    ) -> PortResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(inner))
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
