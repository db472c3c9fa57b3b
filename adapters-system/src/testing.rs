//! Ports for tests: [`ManualClock`], the clock tests move by hand instead of sleeping.

use burstflare_core::ports::Clock;
use burstflare_core::time::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A clock that stands still until told otherwise. Share it as `Arc<ManualClock>`: hand one clone
/// to the ports and keep one to move time.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now_ms: AtomicI64::new(start.millis()) }
    }
    /// A clock at `start`, ready to be shared.
    pub fn shared(start: Timestamp) -> Arc<Self> {
        Arc::new(Self::new(start))
    }
    pub fn set(&self, at: Timestamp) {
        self.now_ms.store(at.millis(), Ordering::SeqCst);
    }
    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn advance_seconds(&self, seconds: i64) {
        self.advance_ms(seconds.saturating_mul(1000));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::shared(Timestamp(1_000));
        clock.advance_seconds(2);
        assert_eq!(clock.now(), Timestamp(3_000));
        clock.set(Timestamp(5));
        assert_eq!(clock.now(), Timestamp(5));
    }
}
