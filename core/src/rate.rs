//! Rate-limit scopes and their fixed windows (per client IP), and the decision a hit yields.

use crate::time::Timestamp;

/// A rate-limited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    Register,
    Login,
    Refresh,
    DeviceStart,
    /// Direct bundle uploads, per user.
    BundleUpload,
    /// Uploads through a grant, per client IP.
    SignedUpload,
    /// Direct snapshot uploads, per user.
    SnapshotUpload,
}

impl RateScope {
    pub fn name(self) -> &'static str {
        match self {
            RateScope::Register => "auth-register",
            RateScope::Login => "auth-login",
            RateScope::Refresh => "auth-refresh",
            RateScope::DeviceStart => "device-start",
            RateScope::BundleUpload => "template-bundle-upload",
            RateScope::SignedUpload => "signed-upload",
            RateScope::SnapshotUpload => "snapshot-upload",
        }
    }
    /// Requests allowed per window.
    pub fn limit(self) -> u32 {
        match self {
            RateScope::Register | RateScope::DeviceStart => 4,
            RateScope::Login => 8,
            RateScope::Refresh => 12,
            RateScope::BundleUpload | RateScope::SnapshotUpload => 8,
            RateScope::SignedUpload => 16,
        }
    }
    pub fn window_ms(self) -> i64 {
        60_000
    }
}

/// The outcome of one hit, with what the `x-burstflare-rate-limit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub scope: RateScope,
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    pub reset_at: Timestamp,
    /// Whole seconds until the window resets (at least 1).
    pub retry_after_seconds: i64,
}

impl RateDecision {
    pub fn from_count(scope: RateScope, count: u32, reset_at: Timestamp, now: Timestamp) -> Self {
        let limit = scope.limit();
        let retry_after_seconds = ((reset_at.millis() - now.millis() + 999) / 1000).max(1);
        Self {
            scope,
            allowed: count <= limit,
            limit,
            remaining: limit.saturating_sub(count),
            reset_at,
            retry_after_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_register_is_refused() {
        let (reset, now) = (Timestamp(60_000), Timestamp(500));
        assert!(RateDecision::from_count(RateScope::Register, 4, reset, now).allowed);
        let fifth = RateDecision::from_count(RateScope::Register, 5, reset, now);
        assert!(!fifth.allowed);
        assert_eq!(fifth.remaining, 0);
        assert_eq!(fifth.retry_after_seconds, 60);
    }
}
