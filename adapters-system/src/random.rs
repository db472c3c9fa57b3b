//! Randomness from the operating system: ids and secrets.

use burstflare_core::ports::Random;

/// UUID v4 ids and 256-bit secrets from the operating system's random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::new_v4()
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
    fn os_random_draws_distinct_v4_like_values() {
        assert_ne!(OsRandom.bytes32(), OsRandom.bytes32());
        assert_ne!(OsRandom.uuid(), OsRandom.uuid());
        assert_eq!(OsRandom.uuid().get_version_num(), 4);
    }
}
