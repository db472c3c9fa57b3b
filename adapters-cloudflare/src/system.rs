//! The Worker runtime's clock (`Date.now()`) and randomness (`crypto.getRandomValues`).

use burstflare_core::ports::{time_ordered_uuid, Clock, Random};
use burstflare_core::time::Timestamp;

#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now(&self) -> Timestamp {
        Timestamp(worker::Date::now().as_millis() as i64)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerRandom;

impl WorkerRandom {
    fn fill<const N: usize>() -> [u8; N] {
        let mut bytes = [0u8; N];
        // Without a working random source no secret can be minted safely: fail loudly.
        getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues failed");
        bytes
    }
}

impl Random for WorkerRandom {
    fn uuid(&self) -> uuid::Uuid {
        time_ordered_uuid(worker::Date::now().as_millis() as i64, Self::fill::<10>())
    }
    fn bytes32(&self) -> [u8; 32] {
        Self::fill::<32>()
    }
}
