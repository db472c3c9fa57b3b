//! `burstflare-bench sessions`: `GET /api/sessions` on the native release server with many sessions
//! in the workspace, next to the bare axum handler in the same run. On a fresh data directory it
//! registers an owner over HTTP, creates a template, adds version 1.0.0 (`{"image": "node:22"}`),
//! uploads a tiny bundle, waits for its build, promotes it, creates N sessions (`s0`, `s1`, …) from
//! it, then loads the list at the given connections after a warm-up, and the bare handler the same
//! way. The sessions are only created: starting and stopping them needs a session runtime, which the
//! server binary does not have. Everything is measured and reported; nothing is asserted.

use crate::client::Client;
use crate::load::{self, Body, Load, Target};
use crate::server::{self, Server};
use crate::sessions_report::Report;
use crate::upload::is_done;
use crate::{bundles, measure_bare, Setup};
use anyhow::{bail, Context};
use burstflare_api::{
    routes, AddVersionRequest, BuildResponse, CreateSessionRequest, CreateTemplateRequest, PromoteRequest,
    SessionResponse, SessionsResponse, TemplateResponse, VersionResponse,
};
use hyper::body::Bytes;
use hyper::Method;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often the build is polled.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sessions created in the workspace before the list is loaded.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    sessions: u32,
    /// Session creations in flight at once during the setup.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    create_concurrency: u32,
    /// Concurrent keep-alive connections of the load.
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
    /// How long to wait for the template's build, in seconds.
    #[arg(long, default_value_t = 120)]
    build_timeout_secs: u64,
    /// CPUs to pin the servers to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "0,1")]
    cpus: String,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the data directory (removed afterwards) and the logs go.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench/sessions-report.md")]
    out: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let this = std::env::current_exe()?;
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench-sessions")?;
    let load = Load {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        max_requests: args.max_requests,
    };
    let (machine, setup) = Setup::prepare(&args.work_dir, &args.cpus, load)?;

    eprintln!("bare axum handler…");
    let (bare, bare_memory) = measure_bare(&this, &setup).await?;

    let (server, addr, _data) =
        server::start_fresh(&server_bin, &args.work_dir, "sessions", setup.cpus.as_deref()).await?;
    let owner = Client::new(addr, "198.51.100.1")?.register("bench.sessions@bench.example").await?;
    let template = promoted_template(&owner, &args).await?;
    eprintln!("creating {} sessions…", args.sessions);
    let started = Instant::now();
    create_sessions(&owner, &template, &args).await?;
    let created_in = started.elapsed();
    let listed = owner.send(Method::GET, routes::SESSIONS, None, Bytes::new()).await?;
    let count = serde_json::from_slice::<SessionsResponse>(&listed).context("reading the session list")?.sessions.len();
    if count != args.sessions as usize {
        bail!("the list holds {count} sessions, {} were created", args.sessions);
    }

    eprintln!("GET {} with {count} sessions…", routes::SESSIONS);
    let bearer = owner.bearer().map(str::to_string);
    let target = Target { addr, method: Method::GET, path: routes::SESSIONS, bearer, body: Body::Empty };
    let list = load::run(&target, setup.load).await?;
    let memory = server.memory()?;
    stop(server).await?;

    let report = Report {
        machine,
        load: setup.load,
        sessions: count,
        created_in,
        list_bytes: listed.len(),
        bare: bare.bench,
        bare_memory,
        list,
        memory,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// A template whose version 1.0.0 is built from a tiny bundle and promoted; returns its id.
async fn promoted_template(owner: &Client, args: &Args) -> anyhow::Result<String> {
    let bundle = Bytes::from(bundles::tiny(0)?);
    let manifest = serde_json::json!({ "image": "node:22" });
    promote(owner, "bench-sessions", manifest, bundle, Duration::from_secs(args.build_timeout_secs)).await
}

/// Creates template `name`, adds version 1.0.0 with `manifest` and `bundle`, waits for its build
/// and promotes it; returns the template's id.
pub(crate) async fn promote(
    owner: &Client,
    name: &str,
    manifest: serde_json::Value,
    bundle: Bytes,
    build_timeout: Duration,
) -> anyhow::Result<String> {
    let create = CreateTemplateRequest { name: name.to_string(), description: None };
    let template: TemplateResponse = owner.json(Method::POST, routes::TEMPLATES, Some(&create)).await?;
    let template = template.template.id;
    let add = AddVersionRequest { version: "1.0.0".to_string(), manifest, notes: None };
    let version: VersionResponse =
        owner.json(Method::POST, &routes::path(routes::VERSIONS, &[&template]), Some(&add)).await?;
    let upload = routes::path(routes::BUNDLE, &[&template, &version.template_version.id]);
    owner.send(Method::PUT, &upload, Some("application/gzip"), bundle).await.context("uploading the bundle")?;

    let build_path = routes::path(routes::BUILD, &[&version.build.id]);
    let deadline = Instant::now() + build_timeout;
    loop {
        let answer: BuildResponse = owner.json(Method::GET, &build_path, None::<&()>).await?;
        match answer.build.status.as_str() {
            "succeeded" => break,
            _ if is_done(&answer.build) => {
                bail!("the build {}: {}", answer.build.status, answer.build.last_error.unwrap_or_default())
            }
            status if Instant::now() > deadline => bail!("the build is still {status} after {build_timeout:?}"),
            _ => tokio::time::sleep(POLL).await,
        }
    }
    let promote = PromoteRequest { version_id: version.template_version.id };
    let promote_path = routes::path(routes::TEMPLATE_PROMOTE, &[&template]);
    owner
        .send(Method::POST, &promote_path, Some("application/json"), Bytes::from(serde_json::to_vec(&promote)?))
        .await?;
    Ok(template)
}

/// Creates sessions `s0`…`s{N-1}` from `template`, `create_concurrency` at a time.
async fn create_sessions(owner: &Client, template: &str, args: &Args) -> anyhow::Result<()> {
    let lanes = (0..args.create_concurrency).map(|lane| {
        let (owner, template) = (owner.clone(), template.to_string());
        let names: Vec<u32> = (lane..args.sessions).step_by(args.create_concurrency as usize).collect();
        tokio::spawn(async move {
            for i in names {
                let request = CreateSessionRequest { name: format!("s{i}"), template_id: template.clone() };
                let _: SessionResponse = owner.json(Method::POST, routes::SESSIONS, Some(&request)).await?;
            }
            Ok::<_, anyhow::Error>(())
        })
    });
    for lane in lanes.collect::<Vec<_>>() {
        lane.await.context("a session-creating task panicked")??;
    }
    Ok(())
}

async fn stop(server: Server) -> anyhow::Result<()> {
    let exit = server.stop().await?;
    if !exit.success() {
        eprintln!("  burstflare-server exited with {exit} after SIGTERM");
    }
    Ok(())
}
