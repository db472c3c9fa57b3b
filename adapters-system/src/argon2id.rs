//! argon2id password hashing, in working memory its caller may keep between hashes; it also
//! verifies the Worker's PBKDF2-SHA256 hashes.

use crate::random::random_array;
use async_trait::async_trait;
use burstflare_core::error::PortError;
use burstflare_core::ports::{PasswordHasher, PortResult};

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
///
/// The async [`PasswordHasher`] methods allocate argon2's working memory for each call; a
/// long-lived thread that hashes many passwords calls [`hash_with`](Self::hash_with) and
/// [`verify_with`](Self::verify_with) with one [`Argon2Memory`] it keeps instead.
#[derive(Debug, Clone)]
pub struct Argon2idHasher {
    params: argon2::Params,
}

impl Argon2idHasher {
    /// Fails with `PortError::Other` when argon2 rejects the parameters (e.g. memory below 8 KiB
    /// per lane, or more than [`MAX_VERIFY_MEMORY_KIB`]).
    pub fn new(params: Argon2Params) -> PortResult<Self> {
        if params.memory_kib > MAX_VERIFY_MEMORY_KIB {
            return Err(PortError::Other(format!(
                "invalid argon2 parameters: more than {MAX_VERIFY_MEMORY_KIB} KiB of memory per hash"
            )));
        }
        let params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| PortError::Other(format!("invalid argon2 parameters: {e}")))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> argon2::Argon2<'static> {
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, self.params.clone())
    }

    /// Working memory sized for this hasher's parameters, allocated on first use and then kept.
    pub fn memory(&self) -> Argon2Memory {
        Argon2Memory { keep: self.params.block_count(), blocks: Vec::new() }
    }

    /// Hashes `password` with a fresh salt into a PHC string, working in `memory`.
    pub fn hash_with(&self, password: &str, memory: &mut Argon2Memory) -> PortResult<String> {
        use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
        let other = |what: &str, e: &dyn std::fmt::Display| PortError::Other(format!("argon2 {what}: {e}"));
        let salt_bytes = random_array::<16>();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| other("salt", &e))?;
        let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
        let blocks = memory.blocks(&self.params).ok_or_else(|| other("memory", &"parameters too large"))?;
        self.argon2()
            .hash_password_into_with_memory(password.as_bytes(), &salt_bytes, &mut out, blocks)
            .map_err(|e| other("hash", &e))?;
        let phc = PasswordHash {
            algorithm: argon2::Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| other("parameters", &e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| other("output", &e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches `hash` (argon2 of any variant and version, or PBKDF2), working in
    /// `memory` for argon2. False for a wrong password, a hash it cannot parse, or an argon2 hash
    /// that needs more than [`MAX_VERIFY_MEMORY_KIB`].
    pub fn verify_with(&self, password: &str, hash: &str, memory: &mut Argon2Memory) -> bool {
        use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        match argon2::Algorithm::try_from(parsed.algorithm) {
            Ok(algorithm) => verify_argon2(algorithm, &parsed, password.as_bytes(), memory).unwrap_or(false),
            // PBKDF2-SHA256 is what the Worker writes.
            Err(_) => pbkdf2::Pbkdf2.verify_password(password.as_bytes(), &parsed).is_ok(),
        }
    }
}

/// The most memory a stored argon2 hash may ask for: 64 MiB. A hash asking for more (this server
/// never writes one) does not verify, rather than letting one login allocate without bound.
pub const MAX_VERIFY_MEMORY_KIB: u32 = 64 * 1024;

/// Recomputes an argon2 PHC hash with its own algorithm, version and parameters and compares the
/// outputs in constant time; `None` when the hash is malformed or too large to verify.
fn verify_argon2(
    algorithm: argon2::Algorithm,
    parsed: &argon2::password_hash::PasswordHash<'_>,
    password: &[u8],
    memory: &mut Argon2Memory,
) -> Option<bool> {
    use argon2::password_hash::Output;
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let version = parsed.version.map_or(Ok(argon2::Version::default()), argon2::Version::try_from).ok()?;
    let params = argon2::Params::try_from(parsed).ok()?;
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    let blocks = memory.blocks(&params)?;
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, blocks)
        .ok()?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&out).ok()? == expected)
}

/// argon2's working memory (1 KiB blocks), kept between hashes by whoever owns it. It grows once
/// to the size of its hasher's parameters and stays there; a stored hash that needs more (made
/// with larger parameters) gets a buffer of its own for that one call, up to
/// [`MAX_VERIFY_MEMORY_KIB`].
pub struct Argon2Memory {
    /// How many blocks to keep.
    keep: usize,
    blocks: Vec<argon2::Block>,
}

impl Argon2Memory {
    /// Blocks for a hash with `params`: the kept buffer when it fits, else a one-off buffer, or
    /// `None` when `params` ask for more than [`MAX_VERIFY_MEMORY_KIB`].
    fn blocks(&mut self, params: &argon2::Params) -> Option<Blocks<'_>> {
        let needed = params.block_count();
        if needed > MAX_VERIFY_MEMORY_KIB as usize {
            return None;
        }
        if needed > self.keep {
            return Some(Blocks::OneOff(vec![argon2::Block::default(); needed]));
        }
        if self.blocks.len() < self.keep {
            self.blocks = vec![argon2::Block::default(); self.keep];
        }
        Some(Blocks::Kept(&mut self.blocks[..needed]))
    }

    /// Bytes held between hashes (0 until the first hash).
    pub fn held_bytes(&self) -> usize {
        self.blocks.len() * argon2::Block::SIZE
    }
}

impl std::fmt::Debug for Argon2Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Memory").field("keep", &self.keep).field("held", &self.blocks.len()).finish()
    }
}

/// The blocks one hash works in.
enum Blocks<'a> {
    Kept(&'a mut [argon2::Block]),
    OneOff(Vec<argon2::Block>),
}

impl AsMut<[argon2::Block]> for Blocks<'_> {
    fn as_mut(&mut self) -> &mut [argon2::Block] {
        match self {
            Blocks::Kept(blocks) => blocks,
            Blocks::OneOff(blocks) => blocks,
        }
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
        self.hash_with(password, &mut self.memory())
    }

    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        Ok(self.verify_with(password, hash, &mut self.memory()))
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

    /// Made by this hasher before it worked in caller-provided memory (argon2's own
    /// `hash_password`): stored hashes like these must keep verifying.
    const OLD_PATH_HASHES: [&str; 3] = [
        "$argon2id$v=19$m=8,t=1,p=1$GS5EZFxKiqR/83k2/BmzcQ$ggI+ZSZ4W25fjjvmeFK/zJs20ddT/BnS+TeTuL16J+8",
        "$argon2id$v=19$m=64,t=2,p=2$6hlqLxMEUmL+orSUqSWhfA$Hh//Qu3ceDUkuw7PSNqxRvh3kqhOVxDzqxY5hrjqZnM",
        "$argon2id$v=19$m=19456,t=2,p=1$eyRaM7noKXkmiXRspdo7Qw$slNQSNkK5Y4hPre005nwoIuDs6RICat6zsnSLJVcXqE",
    ];

    #[test]
    fn hashes_made_before_keep_verifying_in_kept_memory() {
        for hasher in [Argon2idHasher::default(), Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap()] {
            let mut memory = hasher.memory();
            for hash in OLD_PATH_HASHES {
                assert!(hasher.verify_with("correct horse battery", hash, &mut memory), "{hash}");
                assert!(!hasher.verify_with("correct horse batterz", hash, &mut memory), "{hash}");
            }
        }
    }

    #[test]
    fn kept_memory_is_allocated_once_and_reused() {
        let hasher = Argon2idHasher::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap();
        let mut memory = hasher.memory();
        assert_eq!(memory.held_bytes(), 0, "nothing is allocated before the first hash");
        let hash = hasher.hash_with("pw-123456", &mut memory).unwrap();
        assert_eq!(memory.held_bytes(), 64 * 1024);
        let kept = memory.blocks.as_ptr();
        assert!(hasher.verify_with("pw-123456", &hash, &mut memory));
        // A smaller stored hash works in the kept buffer; a larger one in a buffer of its own.
        assert!(hasher.verify_with("correct horse battery", OLD_PATH_HASHES[0], &mut memory));
        assert!(hasher.verify_with("correct horse battery", OLD_PATH_HASHES[2], &mut memory));
        assert_eq!((memory.blocks.as_ptr(), memory.held_bytes()), (kept, 64 * 1024));
    }

    #[test]
    fn hashes_made_in_kept_memory_verify_with_the_stock_verifier() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
        let hasher = Argon2idHasher::new(Argon2Params { memory_kib: 32, iterations: 2, parallelism: 2 }).unwrap();
        let hash = hasher.hash_with("pw-123456", &mut hasher.memory()).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=32,t=2,p=2$"), "{hash}");
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(argon2::Argon2::default().verify_password(b"pw-123456", &parsed).is_ok());
        assert!(argon2::Argon2::default().verify_password(b"pw-654321", &parsed).is_err());
    }

    #[test]
    fn hashes_asking_for_more_than_the_verify_limit_do_not_verify() {
        let hasher = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        let mut memory = hasher.memory();
        let params = |m| argon2::Params::new(m, 1, 1, None).unwrap();
        assert!(memory.blocks(&params(MAX_VERIFY_MEMORY_KIB)).is_some());
        assert!(memory.blocks(&params(MAX_VERIFY_MEMORY_KIB + 8)).is_none());
        let huge = OLD_PATH_HASHES[0].replace("m=8,", "m=4194304,");
        assert!(!hasher.verify_with("correct horse battery", &huge, &mut memory));
        assert_eq!(memory.held_bytes(), 0, "nothing was kept for hashes that do not fit");
        let limit = Argon2Params { memory_kib: MAX_VERIFY_MEMORY_KIB + 1, iterations: 1, parallelism: 1 };
        assert!(Argon2idHasher::new(limit).is_err(), "a hasher never writes what it cannot verify");
    }

    #[test]
    fn malformed_argon2_hashes_do_not_verify() {
        let hasher = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        let mut memory = hasher.memory();
        let good = OLD_PATH_HASHES[0];
        for bad in [
            good.replace("$ggI+", "$hgI+"),
            good.replace("v=19", "v=7"),
            good.replace("m=8,", "m=7,"),
            good.replace("$argon2id$", "$argon2i$"),
            good.replace(",p=1", ",p=1,q=2"),
            good.rsplit_once('$').unwrap().0.to_string(),
            "$argon2id$v=19$m=8,t=1,p=1".to_string(),
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaA".to_string(),
        ] {
            assert!(!hasher.verify_with("correct horse battery", &bad, &mut memory), "{bad}");
        }
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(Argon2idHasher::new(Argon2Params { memory_kib: 1, iterations: 1, parallelism: 1 }).is_err());
        let hash = Argon2idHasher::default().params;
        assert_eq!((hash.m_cost(), hash.t_cost(), hash.p_cost()), (19_456, 2, 1));
    }
}
