//! Housekeeping: deletes tokens and device codes past their expiry and ended rate-limit windows,
//! one statement per table.

use crate::exec::{SqlExecutor, Stmt};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ports::{Housekeeping, PortResult, Purged};
use burstflare_core::time::Timestamp;

const PURGE_TOKENS: &str = "DELETE FROM tokens WHERE expires_at <= ?1 RETURNING 1";
const PURGE_DEVICES: &str = "DELETE FROM device_authorizations WHERE expires_at <= ?1 RETURNING 1";
const PURGE_WINDOWS: &str = "DELETE FROM rate_limits WHERE reset_at <= ?1 RETURNING 1";

#[async_trait]
impl<E: SqlExecutor> Housekeeping for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn purge_expired(&self, now: Timestamp) -> PortResult<Purged> {
        let mut counts = [0u64; 3];
        for (sql, count) in [PURGE_TOKENS, PURGE_DEVICES, PURGE_WINDOWS].into_iter().zip(counts.iter_mut()) {
            let rows = self.exec.write(Stmt::new(sql, vec![now.millis().into()])).await?;
            *count = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        }
        let [tokens, device_codes, rate_windows] = counts;
        Ok(Purged { tokens, device_codes, rate_windows })
    }
}
