//! Randomness from the operating system: ids and secrets.

use burstflare_core::ports::{time_ordered_uuid, Random};
use std::time::{SystemTime, UNIX_EPOCH};

/// Time-ordered (v7) ids and 256-bit secrets from the operating system's random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn uuid(&self) -> uuid::Uuid {
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        time_ordered_uuid(i64::try_from(millis).unwrap_or(i64::MAX), random_array())
    }
    fn bytes32(&self) -> [u8; 32] {
        random_array()
    }
}

/// Bytes from the OS. A process whose OS random source fails cannot mint safe secrets, so this is
/// the one place that panics rather than carrying on.
pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_draws_distinct_time_ordered_ids() {
        assert_ne!(OsRandom.bytes32(), OsRandom.bytes32());
        assert_ne!(OsRandom.uuid(), OsRandom.uuid());
        let first = OsRandom.uuid();
        assert_eq!(first.get_version_num(), 7);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(OsRandom.uuid() > first, "a later id sorts after an earlier one");
        assert!(OsRandom.uuid().to_string() > first.to_string(), "as text too, the form ids are stored in");
    }
}
