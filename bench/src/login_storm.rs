//! `burstflare-bench login-storm`: the native release server's memory under a storm of logins.
//! On a fresh data directory it registers one account, then for each round sends failed logins
//! (wrong passwords for that account and unknown emails, which burn a verification too) and
//! successful ones from many concurrent clients, each client IP (sent as `x-forwarded-for`) staying
//! within the 8 logins a minute the server allows. After each round it reads the server's peak
//! resident memory (VmHWM, reset before the round through `/proc/PID/clear_refs` where the kernel
//! allows) and, after an idle pause, its resident memory (VmRSS). The budgets (peak < 128 MiB,
//! idle < 64 MiB) are reported, never asserted.

use crate::client::Client;
use crate::login_report::{Report, Round};
use crate::report::Machine;
use crate::server::{self, Server};
use anyhow::Context;
use burstflare_api::dto::LoginRequest;
use burstflare_api::routes;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Logins allowed per client IP and minute (`RateScope::Login`).
const LOGINS_PER_IP: u32 = 8;
/// The account the storm signs in to.
const EMAIL: &str = "bench.storm@bench.example";
/// Its password (what `Client::register` sets).
const PASSWORD: &str = "bench-owner-password";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=512))]
    clients: u32,
    /// Failed logins per round (half wrong passwords, half unknown emails).
    #[arg(long, default_value_t = 400)]
    failed: u32,
    /// Successful logins per round.
    #[arg(long, default_value_t = 100)]
    successful: u32,
    /// Rounds (each on fresh client IPs); repeated rounds show whether memory keeps growing.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Seconds the server idles after each round before its resident memory is read.
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// CPUs to pin the server to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "none")]
    cpus: String,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the data directory (removed afterwards) and the server log go.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench/login-storm-report.md")]
    out: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench-login-storm")?;
    std::fs::create_dir_all(&args.work_dir)?;
    let cpus = (args.cpus != "none" && server::taskset_available()).then(|| args.cpus.clone());
    let machine = Machine::detect(cpus.clone());
    let (server, addr, _data) =
        server::start_fresh(&server_bin, &args.work_dir, "login-storm", cpus.as_deref()).await?;
    let started = server.memory()?;
    let base = Client::new(addr, "198.51.100.7")?;
    base.register(EMAIL).await.context("registering the storm's account")?;
    let registered = server.memory()?;

    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        eprintln!("round {}: {} failed and {} successful logins…", round + 1, args.failed, args.successful);
        rounds.push(measure_round(&server, &base, round, &args).await?);
    }
    server.stop().await?;

    let report = Report { machine, started, registered, rounds, clients: args.clients };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// What the `index`-th login of a round sends and expects.
fn login(index: u32, round: u32, successful_every: u32) -> (LoginRequest, StatusCode) {
    let (email, password, expected) = if successful_every > 0 && index.is_multiple_of(successful_every) {
        (EMAIL.to_string(), PASSWORD.to_string(), StatusCode::OK)
    } else if index.is_multiple_of(2) {
        (EMAIL.to_string(), format!("wrong-password-{index}"), StatusCode::UNAUTHORIZED)
    } else {
        (format!("nobody.{round}.{index}@bench.example"), PASSWORD.to_string(), StatusCode::UNAUTHORIZED)
    };
    (LoginRequest { email, password, kind: Some("api".to_string()), workspace_id: None }, expected)
}

/// The `x-forwarded-for` of the `index`-th login of `round`: a new address every [`LOGINS_PER_IP`].
fn login_ip(round: u32, index: u32) -> String {
    let group = index / LOGINS_PER_IP;
    format!("10.{}.{}.{}", 100 + round % 100, group / 250, group % 250 + 1)
}

async fn measure_round(server: &Server, base: &Client, round: u32, args: &Args) -> anyhow::Result<Round> {
    // VmHWM := VmRSS now, so the peak that follows is this round's.
    let reset = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5").is_ok();
    let before = server.memory()?;
    let total = args.failed + args.successful;
    // Spread the successful logins evenly among the failed ones.
    let successful_every = total.checked_div(args.successful).map_or(0, |every| every.max(1));
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (next, base) = (next.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if index >= total {
                    return Ok::<_, anyhow::Error>(outcome);
                }
                let (request, expected) = login(index, round, successful_every);
                let body = Bytes::from(serde_json::to_vec(&request)?);
                let sent = Instant::now();
                let client = base.with_ip(&login_ip(round, index));
                let (status, answer) = client.call(Method::POST, routes::LOGIN, Some("application/json"), body).await?;
                outcome.latencies.push(sent.elapsed());
                match (status, expected) {
                    (StatusCode::OK, StatusCode::OK) => outcome.succeeded += 1,
                    (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED) => outcome.refused += 1,
                    _ => {
                        outcome.unexpected += 1;
                        outcome.first_unexpected.get_or_insert_with(|| {
                            format!("{status} (expected {expected}): {}", String::from_utf8_lossy(&answer))
                        });
                    }
                }
            }
        }));
    }
    let mut all = Outcome::default();
    for task in tasks {
        all.merge(task.await.context("a login client panicked")??);
    }
    let storm = started.elapsed();
    let after_storm = server.memory()?;
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let idle = server.memory()?;
    all.latencies.sort();
    Ok(Round {
        reset,
        before,
        after_storm,
        idle,
        idle_secs: args.idle_secs,
        storm,
        succeeded: all.succeeded,
        refused: all.refused,
        unexpected: all.unexpected,
        first_unexpected: all.first_unexpected,
        latency_ms: [0.5, 0.99, 1.0].map(|q| quantile_ms(&all.latencies, q)),
    })
}

/// What the clients of one round saw.
#[derive(Debug, Default)]
struct Outcome {
    succeeded: u32,
    refused: u32,
    unexpected: u32,
    first_unexpected: Option<String>,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.succeeded += other.succeeded;
        self.refused += other.refused;
        self.unexpected += other.unexpected;
        if self.first_unexpected.is_none() {
            self.first_unexpected = other.first_unexpected;
        }
        self.latencies.extend(other.latencies);
    }
}

/// The `q` quantile of sorted latencies, in ms.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let at = ((last as f64) * q).round() as usize;
    sorted[at.min(last)].as_secs_f64() * 1000.0
}
