//! `burstflare-bench`: the project's own benchmark of the native server (see "Budgets" in
//! `ARCHITECTURE.md`). It measures a bare axum handler, then for a small and a large store (10² and
//! 10⁵ users by default, seeded straight through `SqliteStore`) starts `burstflare-server`,
//! registers an owner and loads `GET /api/auth/me` and `POST /api/workspaces/current/invites`.
//! It prints a markdown report and writes it to a file. Run it through `scripts/bench`; the
//! subcommands `worker`, `upload`, `login-storm` and `sessions` are the other measurements (each has a script).
#![forbid(unsafe_code)]

mod bare;
mod bundles;
mod client;
mod load;
mod login_report;
mod login_storm;
mod persist;
mod report;
mod runtime;
mod runtime_report;
mod seed;
mod server;
mod sessions;
mod sessions_report;
mod shapes;
mod upload;
mod upload_report;
mod wire;
mod worker;
mod wrk;

use anyhow::{bail, Context};
use burstflare_api::dto::RegisterRequest;
use burstflare_api::routes;
use clap::{Parser, Subcommand};
use hyper::body::Bytes;
use hyper::Method;
use load::{Body, Load, Target};
use report::{Machine, Measured, Report, Scenario};
use server::{Memory, Server};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks burstflare-server against a bare axum handler")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serves the bare axum handler (the baseline); the benchmark starts this itself.
    BareServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// The Worker under local workerd (`wrangler dev`) vs the native server; see `scripts/bench-worker`.
    Worker(worker::Args),
    /// Bundle uploads and builds on the native server; see `scripts/bench-uploads`.
    Upload(upload::Args),
    /// Memory under a storm of failed and successful logins; see `scripts/bench-login-storm`.
    LoginStorm(login_storm::Args),
    /// `GET /api/sessions` with many sessions vs the bare handler; see `scripts/bench-sessions`.
    Sessions(sessions::Args),
    /// Real sessions on the local runtime: starts, preview throughput, SSH; see `scripts/bench-runtime`.
    Runtime(runtime::Args),
    /// The native local runtime next to the Worker's containers; see `scripts/bench-shapes`.
    Shapes(shapes::Args),
    /// A 100 MiB persisted path saved and restored; see `scripts/bench-persist`.
    Persist(persist::Args),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Users in the large store.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Users in the small store.
    #[arg(long, default_value_t = 100)]
    small_users: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of warm-up (not measured) before each measurement.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Seconds measured per endpoint.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Upper bound on measured requests per endpoint.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    /// CPUs to pin the servers to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "0,1")]
    cpus: String,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// The server's `--log-format`.
    #[arg(long, default_value = "json")]
    log_format: String,
    /// Where data directories and server logs go (data directories are removed afterwards).
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench/report.md")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Cmd::BareServer { listen }) => bare::serve(listen).await,
        Some(Cmd::Worker(args)) => worker::run(args).await,
        Some(Cmd::Shapes(args)) => shapes::run(args).await,
        Some(Cmd::Persist(args)) => persist::run(args).await,
        Some(Cmd::Upload(args)) => upload::run(args).await,
        Some(Cmd::LoginStorm(args)) => login_storm::run(args).await,
        Some(Cmd::Sessions(args)) => sessions::run(args).await,
        Some(Cmd::Runtime(args)) => runtime::run(args).await,
        None => run(cli.run).await,
    }
}

/// What every measurement shares.
pub(crate) struct Setup {
    load: Load,
    cpus: Option<String>,
    work_dir: PathBuf,
    /// `wrk`, when installed: the second load generator of the main run.
    wrk: Option<PathBuf>,
}

impl Setup {
    /// Creates the work folder, decides the CPU pinning (`none`, or when `taskset` is missing: no
    /// pinning), reads the machine and warns when it is already busy.
    pub(crate) fn prepare(work_dir: &Path, cpus: &str, load: Load) -> anyhow::Result<(Machine, Setup)> {
        std::fs::create_dir_all(work_dir)?;
        let cpus = (cpus != "none" && server::taskset_available()).then(|| cpus.to_string());
        let machine = Machine::detect(cpus.clone());
        if machine.looks_busy() {
            eprintln!("warning: load average {} — other work will skew the numbers", machine.load_before);
        }
        Ok((machine, Setup { load, cpus, work_dir: work_dir.to_path_buf(), wrk: wrk::find() }))
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let this = std::env::current_exe()?;
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench")?;
    let load = Load {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        max_requests: args.max_requests,
    };
    let (machine, setup) = Setup::prepare(&args.work_dir, &args.cpus, load)?;
    if setup.wrk.is_none() {
        eprintln!("warning: wrk is not installed: the load generators' agreement is not checked");
    }

    eprintln!("bare axum handler…");
    let (bare, bare_memory) = measure_bare(&this, &setup).await?;
    let small = measure_server(&server_bin, args.small_users, &args.log_format, &setup).await?;
    let large = measure_server(&server_bin, args.users, &args.log_format, &setup).await?;

    let load_after = report::load_average();
    let report = Report { machine, load: setup.load, bare, bare_memory, small, large, load_after };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// Loads `target` with the bench's client, then with `wrk` when it is installed.
async fn measure(target: &Target, setup: &Setup) -> anyhow::Result<Measured> {
    let bench = load::run(target, setup.load).await?;
    let wrk = match &setup.wrk {
        Some(wrk) => {
            let (wrk, target, load, dir) = (wrk.clone(), target.clone(), setup.load, setup.work_dir.clone());
            Some(tokio::task::spawn_blocking(move || wrk::run(&wrk, &target, load, &dir)).await??)
        }
        None => None,
    };
    Ok(Measured { bench, wrk })
}

/// Starts `burstflare-bench bare-server` and loads its one route.
async fn measure_bare(this: &Path, setup: &Setup) -> anyhow::Result<(Measured, Memory)> {
    let addr = server::free_loopback_addr()?;
    let args = ["bare-server".to_string(), "--listen".to_string(), addr.to_string()];
    let log = setup.work_dir.join("bare-server.log");
    let server = Server::start(server::command(this, &args, setup.cpus.as_deref()), &log).await?;
    let target = Target { addr, method: Method::GET, path: bare::PATH, bearer: Some(fake_token()), body: Body::Empty };
    let outcome = measure(&target, setup).await?;
    let memory = server.memory()?;
    server.stop().await?;
    Ok((outcome, memory))
}

/// Seeds a store of `users`, starts the native server on it, and loads the read and the write.
/// Each client's write starts from the same state: the data directory as the reads left it, kept
/// aside while no server runs, so neither client measures a database the other one has grown
/// (measured second, `wrk` used to meet ~160,000 more invites than the bench's client).
async fn measure_server(server_bin: &Path, users: u64, log_format: &str, setup: &Setup) -> anyhow::Result<Scenario> {
    let data = tempfile::Builder::new().prefix("data-").tempdir_in(&setup.work_dir)?;
    eprintln!("seeding {users} users…");
    let seeded = seed::seed(data.path(), users).await?;
    eprintln!("  {:.1} s; burstflare-server with {users} users…", seeded.elapsed.as_secs_f64());
    let mut run =
        ServerRuns { server_bin, log_format, setup, data: data.path(), users, memory: None, log: None, log_lines: 0 };

    let (server, addr) = run.start("reads").await?;
    let token = register_owner(addr).await?;
    let read = Target { addr, method: Method::GET, path: routes::ME, bearer: Some(token.clone()), body: Body::Empty };
    let read = measure(&read, setup).await?;
    run.stop(server).await?;

    let before_writes = tempfile::Builder::new().prefix("before-writes-").tempdir_in(&setup.work_dir)?;
    copy_dir(data.path(), before_writes.path())?;
    let invites = |addr| Target {
        addr,
        method: Method::POST,
        path: routes::INVITES,
        bearer: Some(token.clone()),
        body: Body::UniqueInvite,
    };
    let (server, addr) = run.start("writes-bench").await?;
    let bench = load::run(&invites(addr), setup.load).await?;
    run.stop(server).await?;
    let wrk = match &setup.wrk {
        Some(wrk) => {
            std::fs::remove_dir_all(data.path())?;
            copy_dir(before_writes.path(), data.path())?;
            let (server, addr) = run.start("writes-wrk").await?;
            let (wrk, target, load, dir) = (wrk.clone(), invites(addr), setup.load, setup.work_dir.clone());
            let measured = tokio::task::spawn_blocking(move || wrk::run(&wrk, &target, load, &dir)).await??;
            run.stop(server).await?;
            Some(measured)
        }
        None => None,
    };
    let memory = run.memory.context("no server ran")?;
    Ok(Scenario { seeded, read, write: Measured { bench, wrk }, memory, log_lines: run.log_lines })
}

/// The servers a scenario starts one after the other on its data directory: the highest memory
/// any of them reached, and their log lines in all.
struct ServerRuns<'a> {
    server_bin: &'a Path,
    log_format: &'a str,
    setup: &'a Setup,
    data: &'a Path,
    users: u64,
    memory: Option<Memory>,
    /// The log of the server running now.
    log: Option<std::path::PathBuf>,
    log_lines: usize,
}

impl ServerRuns<'_> {
    async fn start(&mut self, phase: &str) -> anyhow::Result<(Server, SocketAddr)> {
        let addr = server::free_loopback_addr()?;
        let args = [
            "--listen".to_string(),
            addr.to_string(),
            "--data-dir".to_string(),
            self.data.display().to_string(),
            "--log-format".to_string(),
            self.log_format.to_string(),
        ];
        let log = self.setup.work_dir.join(format!("server-{}-users-{phase}.log", self.users));
        let command = server::command(self.server_bin, &args, self.setup.cpus.as_deref());
        let server = Server::start(command, &log).await?;
        self.log = Some(log);
        Ok((server, addr))
    }

    async fn stop(&mut self, server: Server) -> anyhow::Result<()> {
        let now = server.memory()?;
        self.memory = Some(match self.memory {
            Some(was) => Memory { rss_kib: was.rss_kib.max(now.rss_kib), peak_kib: was.peak_kib.max(now.peak_kib) },
            None => now,
        });
        let exit = server.stop().await?;
        if !exit.success() {
            eprintln!("  burstflare-server exited with {exit} after SIGTERM");
        }
        if let Some(log) = self.log.take() {
            self.log_lines += std::fs::read_to_string(&log).map_or(0, |text| text.lines().count());
        }
        Ok(())
    }
}

/// Copies the directory `from` (files and folders, as a stopped server left them) to `to`.
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Registers the owner whose token the load uses, through the API like any client.
async fn register_owner(addr: SocketAddr) -> anyhow::Result<String> {
    let request = RegisterRequest {
        email: "bench.owner@bench.example".to_string(),
        password: "bench-owner-password".to_string(),
        name: Some("Bench Owner".to_string()),
        kind: Some("api".to_string()),
    };
    let body = Bytes::from(serde_json::to_vec(&request)?);
    let (status, body) = load::send_once(addr, Method::POST, routes::REGISTER, None, body).await?;
    if !status.is_success() {
        bail!("registering the owner: {status}: {}", String::from_utf8_lossy(&body));
    }
    let sign_in: serde_json::Value = serde_json::from_slice(&body).context("reading the register response")?;
    let token = sign_in["token"].as_str().context("no token in the register response")?;
    Ok(token.to_string())
}

/// A token-shaped header for the baseline, so its requests are as large as the real ones.
fn fake_token() -> String {
    format!("bfa_{}", "0".repeat(64))
}
