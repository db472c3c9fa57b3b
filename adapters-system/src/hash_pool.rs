//! A fixed set of OS threads for password hashing, each keeping one argon2 working buffer for its
//! whole life. The memory hashing holds is then at most `workers × m_cost` (2 × 19 MiB on two
//! cores), however many logins arrive at once and however long the server runs; running each hash
//! on tokio's blocking pool instead left every thread's allocator holding its own 19 MiB, and the
//! server grew by hundreds of MiB under a login storm.
//!
//! Callers queue without bound and wait asynchronously for their turn (a queued job is a closure
//! and a reply channel, not memory for a hash); a caller that gives up before its turn (a client
//! that hung up) is skipped without hashing. The threads end once the pool is dropped and the
//! queue is empty.

use crate::argon2id::Argon2Memory;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// At most this many hashing threads, whatever the core count: each keeps `m_cost` of memory
/// (19 MiB by default) for the server's life, and four hash well over a hundred passwords a second,
/// far more than the login rate limits let through.
pub const MAX_WORKERS: usize = 4;

type Job = Box<dyn FnOnce(&mut Argon2Memory) + Send>;

/// The hashing threads and their queue.
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

impl HashPool {
    /// One worker per available core, up to [`MAX_WORKERS`].
    pub fn default_workers() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from).min(MAX_WORKERS)
    }

    /// Starts `workers` threads (at least one), each with the working memory `memory` makes
    /// (allocated by its first hash, then kept).
    pub fn start(workers: usize, memory: impl Fn() -> Argon2Memory) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..workers {
            let queue = queue.clone();
            let mut memory = memory();
            std::thread::Builder::new()
                .name(format!("burstflare-hash-{index}"))
                .spawn(move || work(&queue, &mut memory))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `job` on a worker with that worker's memory, waiting for a free one.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Argon2Memory) -> T + Send + 'static,
    ) -> PortResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller went away while queued: nothing is waiting for the result.
            if !reply.is_closed() {
                let _ = reply.send(job(memory));
            }
        });
        self.jobs.send(job).map_err(|_| PortError::Other("the password hashing workers have stopped".into()))?;
        answer.await.map_err(|_| PortError::Other("a password hashing job panicked".into()))
    }
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool").finish_non_exhaustive()
    }
}

/// One worker: takes jobs until the pool is dropped. A panicking job drops its reply (its caller
/// gets an error) and the worker carries on with the same memory.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, memory: &mut Argon2Memory) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        if catch_unwind(AssertUnwindSafe(|| job(memory))).is_err() {
            tracing::error!("a password hashing job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argon2id::{Argon2Params, Argon2idHasher};
    use std::collections::HashSet;
    use std::time::Duration;

    fn fast_pool(workers: usize) -> HashPool {
        let hasher = Argon2idHasher::new(Argon2Params::INSECURE_FAST).unwrap();
        HashPool::start(workers, move || hasher.memory()).unwrap()
    }

    #[tokio::test]
    async fn jobs_run_on_the_pools_own_threads_only() {
        let pool = fast_pool(2);
        let mut names = HashSet::new();
        for _ in 0..40 {
            names.insert(pool.run(|_| std::thread::current().name().map(str::to_string)).await.unwrap());
        }
        assert!(!names.is_empty() && names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.as_deref().is_some_and(|n| n.starts_with("burstflare-hash-"))), "{names:?}");
    }

    #[tokio::test]
    async fn each_worker_keeps_one_buffer() {
        let hasher = Argon2idHasher::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap();
        let for_pool = hasher.clone();
        let pool = HashPool::start(1, move || for_pool.memory()).unwrap();
        let mut held = Vec::new();
        for _ in 0..5 {
            let hasher = hasher.clone();
            held.push(pool.run(move |memory| (hasher.hash_with("pw", memory).is_ok(), memory.held_bytes())).await);
        }
        assert!(held.iter().all(|h| matches!(h, Ok((true, 65_536)))), "{held:?}");
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_only() {
        let pool = fast_pool(1);
        assert!(pool.run(|_| -> u8 { panic!("boom") }).await.is_err());
        assert_eq!(pool.run(|_| 7).await.unwrap(), 7, "the worker survives");
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_is_skipped() {
        let pool = Arc::new(fast_pool(1));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let blocker = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(move |_| hold.recv_timeout(Duration::from_secs(10)).is_ok()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let abandoned = pool.run(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst));
        assert!(tokio::time::timeout(Duration::from_millis(20), abandoned).await.is_err(), "queued behind the blocker");
        release.send(()).unwrap();
        assert!(blocker.await.unwrap().unwrap());
        pool.run(|_| ()).await.unwrap();
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "the abandoned job was not run");
    }
}
