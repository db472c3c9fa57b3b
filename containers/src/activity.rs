//! The last real use of the session (terminal or SSH input, a preview request), shared by every
//! part of the agent that sees one and reported to the edge by `/health`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch of the last use; 0 means never.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<AtomicI64>);

impl Activity {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a use now.
    pub fn touch(&self) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        self.0.fetch_max(now, Ordering::Relaxed);
    }

    /// The last use, in milliseconds since the Unix epoch, if there was one.
    pub fn last(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_is_seen_by_every_clone() {
        let activity = Activity::new();
        assert_eq!(activity.last(), None);
        activity.clone().touch();
        assert!(activity.last().unwrap() > 1_600_000_000_000);
    }
}
