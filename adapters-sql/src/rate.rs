//! Fixed-window rate-limit counters: the `rate_limits` table and its [`RateLimiter`], one atomic
//! upsert per hit.

use crate::exec::{SqlExecutor, Stmt};
use crate::row::{first, to_u32};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{PortResult, RateLimiter, WindowCount};
use burstflare_core::time::Timestamp;

/// `?1` key, `?2` now, `?3` window length. A window that ended at or before now restarts at one
/// hit; otherwise the hit is added. SET expressions see the row as it was before the update.
const HIT: &str = "INSERT INTO rate_limits (key, count, reset_at) VALUES (?1, 1, ?2 + ?3) \
     ON CONFLICT (key) DO UPDATE SET \
     count = CASE WHEN rate_limits.reset_at <= ?2 THEN 1 ELSE rate_limits.count + 1 END, \
     reset_at = CASE WHEN rate_limits.reset_at <= ?2 THEN ?2 + ?3 ELSE rate_limits.reset_at END \
     RETURNING count, reset_at";

#[async_trait]
impl<E: SqlExecutor> RateLimiter for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn hit(&self, key: &str, window_ms: i64, now: Timestamp) -> PortResult<WindowCount> {
        let params = vec![key.into(), now.millis().into(), window_ms.into()];
        let rows = self.exec.write(Stmt::new(HIT, params)).await?;
        let mut row = first(rows).ok_or_else(|| PortError::Other("rate-limit upsert returned no row".into()))?;
        let count = to_u32(row.int()?)?;
        Ok(WindowCount { count, reset_at: row.time()? })
    }
}
