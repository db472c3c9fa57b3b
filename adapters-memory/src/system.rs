//! The process-local ports every native shape shares, whatever stores its data: the real clock,
//! the OS random source and argon2id password hashing; plus [`ManualClock`], the clock tests move
//! by hand instead of sleeping.

use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{Clock, PasswordHasher, PortResult, Random, SystemPorts};
use burstflare_core::time::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Real clock, default argon2id and the OS random source.
pub fn system_ports() -> SystemPorts {
    SystemPorts {
        hasher: Arc::new(Argon2idHasher::default()),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
    }
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }
}

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
fn random_array<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's baseline for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const DEFAULT: Self = Self { memory_kib: 19_456, iterations: 2, parallelism: 1 };
    /// The smallest parameters argon2 accepts: for tests only, where hashing must be cheap.
    pub const INSECURE_FAST: Self = Self { memory_kib: 8, iterations: 1, parallelism: 1 };
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Password hashing with argon2id (v0x13), stored as PHC strings
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). Verification reads the algorithm and parameters from
/// the hash, so hashes made with other parameters keep verifying after a change, and the Worker's
/// PBKDF2-SHA256 hashes (`$pbkdf2-sha256$i=…,l=32$salt$hash`) verify here too.
#[derive(Debug, Clone)]
pub struct Argon2idHasher {
    params: argon2::Params,
}

impl Argon2idHasher {
    /// Fails with `PortError::Other` when argon2 rejects the parameters (e.g. memory below 8 KiB
    /// per lane).
    pub fn new(params: Argon2Params) -> PortResult<Self> {
        let params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| PortError::Other(format!("invalid argon2 parameters: {e}")))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> argon2::Argon2<'static> {
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, self.params.clone())
    }
}

impl Default for Argon2idHasher {
    fn default() -> Self {
        let Argon2Params { memory_kib, iterations, parallelism } = Argon2Params::DEFAULT;
        // These constants are valid argon2 parameters; argon2's own default is the same set.
        let params = argon2::Params::new(memory_kib, iterations, parallelism, None).unwrap_or_default();
        Self { params }
    }
}

#[async_trait]
impl PasswordHasher for Argon2idHasher {
    async fn hash(&self, password: &str) -> PortResult<String> {
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let salt =
            SaltString::encode_b64(&random_array::<16>()).map_err(|e| PortError::Other(format!("argon2 salt: {e}")))?;
        let hash = self
            .argon2()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| PortError::Other(format!("argon2 hash: {e}")))?;
        Ok(hash.to_string())
    }

    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        use argon2::password_hash::PasswordHash;
        let Ok(parsed) = PasswordHash::new(hash) else {
            return Ok(false);
        };
        // argon2id is what this hasher writes; PBKDF2-SHA256 is what the Worker writes.
        let verifiers: [&dyn argon2::password_hash::PasswordVerifier; 2] = [&self.argon2(), &pbkdf2::Pbkdf2];
        Ok(parsed.verify_password(&verifiers, password.as_bytes()).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        // The hasher never awaits anything, so one poll completes it.
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        match future.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the hasher is not expected to wait"),
        }
    }

    #[test]
    fn argon2id_hashes_verify_and_refuse() {
        let hasher = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        let hash = block_on(hasher.hash("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(block_on(hasher.verify("correct horse", &hash)).unwrap());
        assert!(!block_on(hasher.verify("wrong horse", &hash)).unwrap());
        assert!(!block_on(hasher.verify("correct horse", "not a phc string")).unwrap());
        assert_ne!(hash, block_on(hasher.hash("correct horse")).unwrap(), "salts must differ");
    }

    #[test]
    fn hashes_verify_across_parameter_sets() {
        let fast = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        let other = Argon2idHasher::new(Argon2Params { memory_kib: 16, iterations: 2, parallelism: 1 }).unwrap();
        let hash = block_on(other.hash("pw-123456")).unwrap();
        assert!(block_on(fast.verify("pw-123456", &hash)).unwrap());
    }

    #[test]
    fn pbkdf2_hashes_from_the_worker_verify() {
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let params = pbkdf2::Params { rounds: 1_000, output_length: 32 };
        let hash = pbkdf2::Pbkdf2.hash_password_customized(b"pw-123456", None, None, params, &salt).unwrap();
        let hash = hash.to_string();
        assert!(hash.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{hash}");
        let hasher = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        assert!(block_on(hasher.verify("pw-123456", &hash)).unwrap());
        assert!(!block_on(hasher.verify("pw-654321", &hash)).unwrap());
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(Argon2idHasher::new(Argon2Params { memory_kib: 1, iterations: 1, parallelism: 1 }).is_err());
        let hash = Argon2idHasher::default().params;
        assert_eq!((hash.m_cost(), hash.t_cost(), hash.p_cost()), (19_456, 2, 1));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::shared(Timestamp(1_000));
        clock.advance_seconds(2);
        assert_eq!(clock.now(), Timestamp(3_000));
        clock.set(Timestamp(5));
        assert_eq!(clock.now(), Timestamp(5));
    }

    #[test]
    fn os_random_draws_distinct_v4_like_values() {
        assert_ne!(OsRandom.bytes32(), OsRandom.bytes32());
        assert_ne!(OsRandom.uuid(), OsRandom.uuid());
        assert_eq!(OsRandom.uuid().get_version_num(), 4);
        assert!(SystemClock.now().millis() > 1_700_000_000_000);
    }
}
