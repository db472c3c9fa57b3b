//! `burstflare-bench worker`: the Worker under local `workerd` (`wrangler dev`, started by
//! `scripts/bench-worker`) against a minimal D1 Worker (`bench-d1-worker`: one `SELECT` by
//! primary key answered as JSON, under its own `wrangler dev`) and the native release server, in
//! the same run and with the same load: on the Worker and the native server one API user
//! registered, then `GET /api/auth/me` with its token; on the minimal Worker `GET /users/{id}` of
//! its seeded user; every request with a fixed `x-forwarded-for`. The ratio real / minimal Worker
//! is what the Router, tracing, authentication and the reads cost per request in an isolate
//! (target ≥ 0.6). Also reports the size of the Worker's wasm, raw and `gzip -9`. Throughput
//! under `wrangler dev` is a property of the local dev stack, not of Cloudflare's edge.

use crate::client::{self, Client};
use crate::load::{self, Body, Load, MakeRequest, Outcome, Target};
use crate::report::{self, Machine};
use crate::server::{self, Memory};
use crate::wire;
use anyhow::{bail, Context};
use burstflare_api::routes;
use hyper::Method;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The client IP every request claims (TEST-NET-3).
const CLIENT_IP: &str = "203.0.113.7";
/// The wasm's budget, gzip-compressed.
const MAX_WASM_GZIP_BYTES: u64 = 1024 * 1024;
/// The real Worker's `/me` must reach this share of the minimal D1 Worker's req/s.
const MIN_SHARE_OF_MINIMAL: f64 = 0.6;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Worker under `wrangler dev`, e.g. `http://127.0.0.1:8788` (loopback only).
    #[arg(long)]
    worker_url: String,
    /// The minimal D1 Worker (`bench-d1-worker`) under its own `wrangler dev` (loopback only).
    #[arg(long)]
    d1_worker_url: String,
    /// The id of the user seeded in the minimal Worker's D1 (it answers `GET /users/{id}`).
    #[arg(long, default_value = "usr_bench_d1")]
    d1_user: String,
    /// The Worker's wasm, whose size is reported.
    #[arg(long, default_value = "edge/build/index_bg.wasm")]
    wasm: PathBuf,
    /// Concurrent keep-alive connections, the same for both.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds of warm-up (not measured) before each measurement.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Seconds measured per runtime.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Upper bound on measured requests per runtime.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// CPUs to pin the native server to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "none")]
    cpus: String,
    /// The native server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the native server's data directory (removed afterwards) and log go.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench/worker-report.md")]
    out: PathBuf,
}

/// A [`Target`] whose requests also carry `x-forwarded-for`.
#[derive(Debug, Clone)]
struct Forwarded {
    target: Target,
    ip: &'static str,
}

impl MakeRequest for Forwarded {
    fn addr(&self) -> SocketAddr {
        self.target.addr()
    }
    fn request(&self, connection: usize, sequence: u64) -> anyhow::Result<Vec<u8>> {
        self.target.encode(connection, sequence, &[("x-forwarded-for", self.ip)])
    }
    fn constant(&self) -> bool {
        self.target.constant()
    }
}

/// `GET /users/{id}` of the minimal D1 Worker, with the same `x-forwarded-for` as the others.
#[derive(Debug, Clone)]
struct MinimalGet {
    addr: SocketAddr,
    path: String,
}

impl MakeRequest for MinimalGet {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn request(&self, _connection: usize, _sequence: u64) -> anyhow::Result<Vec<u8>> {
        Ok(wire::encode("GET", &self.path, self.addr, &[("x-forwarded-for", CLIENT_IP)], &[]))
    }
    fn constant(&self) -> bool {
        true
    }
}

/// The three runtimes' outcomes.
struct Outcomes {
    worker: Outcome,
    minimal: Outcome,
    native: Outcome,
}

/// The wasm's size.
struct Wasm {
    raw: u64,
    gzip: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let worker_addr = client::loopback_url(&args.worker_url)?;
    let minimal_addr = client::loopback_url(&args.d1_worker_url)?;
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench-worker")?;
    std::fs::create_dir_all(&args.work_dir)?;
    let cpus = (args.cpus != "none" && server::taskset_available()).then(|| args.cpus.clone());
    let machine = Machine::detect(cpus.clone());
    let wasm = wasm_size(&args.wasm)?;
    let load = Load {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        max_requests: args.max_requests,
    };

    eprintln!("Worker under wrangler dev at {worker_addr}…");
    let worker = measure(worker_addr, load).await.context("the Worker")?;
    eprintln!("minimal D1 Worker under wrangler dev at {minimal_addr}…");
    let minimal = MinimalGet { addr: minimal_addr, path: format!("/users/{}", args.d1_user) };
    let minimal = load::run(&minimal, load).await.context("the minimal D1 Worker")?;

    eprintln!("burstflare-server…");
    let (server, addr, _data) =
        server::start_fresh(&server_bin, &args.work_dir, "worker-comparison", cpus.as_deref()).await?;
    let native = measure(addr, load).await.context("the native server")?;
    let memory = server.memory()?;
    server.stop().await?;

    let markdown = markdown(&machine, load, &wasm, &Outcomes { worker, minimal, native }, memory);
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// Registers an API user on `addr` and loads `GET /api/auth/me` with its token.
async fn measure(addr: SocketAddr, load: Load) -> anyhow::Result<Outcome> {
    let owner = Client::new(addr, CLIENT_IP)?.register("bench.worker@bench.example").await?;
    let token = owner.token().context("no token after registering")?.to_string();
    let target = Target { addr, method: Method::GET, path: routes::ME, bearer: Some(token), body: Body::Empty };
    load::run(&Forwarded { target, ip: CLIENT_IP }, load).await
}

/// The file's size, and its size after `gzip -9`.
fn wasm_size(path: &Path) -> anyhow::Result<Wasm> {
    let raw = std::fs::metadata(path).with_context(|| format!("{}: build the Worker first", path.display()))?.len();
    let gzip = std::process::Command::new("gzip").arg("-9").arg("-c").arg(path).output().context("running gzip")?;
    if !gzip.status.success() {
        bail!("gzip -9 {} failed: {}", path.display(), String::from_utf8_lossy(&gzip.stderr));
    }
    Ok(Wasm { raw, gzip: gzip.stdout.len() as u64 })
}

fn markdown(machine: &Machine, load: Load, wasm: &Wasm, outcomes: &Outcomes, memory: Memory) -> String {
    let Outcomes { worker, minimal, native } = outcomes;
    let mut md = String::new();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let _ = writeln!(md, "# BurstFlare Worker (local workerd) vs native\n");
    let _ = writeln!(
        md,
        "Machine: {} CPUs ({}), Linux {}; bench on CPUs {}, native server pinned to {}.",
        machine.cpus,
        machine.cpu_model,
        machine.kernel,
        machine.client_cpus,
        machine.pinned_to.as_deref().unwrap_or("nothing")
    );
    let _ = writeln!(md, "Load average before: {}, after: {}.\n", machine.load_before, report::load_average());
    let _ = writeln!(
        md,
        "Load: `GET {}` with an API token (the minimal D1 Worker: `GET /users/{{id}}`, one D1 `SELECT` by \
         primary key answered as JSON) and `x-forwarded-for: {CLIENT_IP}`, {} keep-alive connections, \
         {} s warm-up, {} s measured, at most {} requests.\n",
        routes::ME,
        load.connections,
        load.warmup.as_secs(),
        load.duration.as_secs(),
        load.max_requests
    );
    let _ = writeln!(md, "| runtime | requests | errors | req/s | p50 ms | p99 ms | p99.9 ms | max ms |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, o) in [
        ("Worker under `wrangler dev` (workerd, local D1)", worker),
        ("minimal D1 Worker under `wrangler dev` (one `SELECT`)", minimal),
        ("burstflare-server (SQLite)", native),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            o.requests(),
            o.errors,
            o.rps(),
            o.quantile_ms(0.5),
            o.quantile_ms(0.99),
            o.quantile_ms(0.999),
            o.latencies.max() as f64 / 1000.0
        );
    }
    for (name, o) in [("Worker", worker), ("minimal D1 Worker", minimal), ("native", native)] {
        if let Some(error) = &o.first_error {
            let _ = writeln!(md, "\nFirst {name} error: `{error}`");
        }
    }
    let share = worker.rps() / native.rps().max(f64::EPSILON);
    let of_minimal = worker.rps() / minimal.rps().max(f64::EPSILON);
    let _ = writeln!(
        md,
        "\nWorker / native req/s = {share:.2}. Native server after its run: VmRSS {:.1} MiB, VmHWM {:.1} MiB.\n",
        memory.rss_kib as f64 / 1024.0,
        memory.peak_kib as f64 / 1024.0
    );
    let _ = writeln!(
        md,
        "Throughput under `wrangler dev` is a property of the local dev stack (node + workerd + the local D1 \
         simulator on this machine's cores), not of Cloudflare's edge: compare Worker builds with each other \
         in the same run, never with production.\n"
    );
    let holds = if wasm.gzip < MAX_WASM_GZIP_BYTES { "yes" } else { "**no**" };
    let _ = writeln!(md, "| target | measured | holds |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| Worker `/me` ≥ {MIN_SHARE_OF_MINIMAL} of the minimal D1 Worker's req/s | {of_minimal:.2} ({:.0} / {:.0} req/s) | {} |",
        worker.rps(),
        minimal.rps(),
        if of_minimal >= MIN_SHARE_OF_MINIMAL { "yes" } else { "**no**" }
    );
    let _ = writeln!(
        md,
        "| Worker wasm < 1 MiB gzip | {} bytes gzip -9 ({:.2} MiB; {} bytes / {:.2} MiB raw) | {holds} |",
        wasm.gzip,
        mib(wasm.gzip),
        wasm.raw,
        mib(wasm.raw)
    );
    md
}
