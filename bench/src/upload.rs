//! `burstflare-bench upload`: bundle uploads and builds on the native release server, on a fresh
//! data directory. (1) One ~32 MiB tar.gz of incompressible bytes uploaded directly: the server's
//! peak RSS increase (VmHWM is reset through `/proc/PID/clear_refs` first, so the owner's argon2
//! registration does not mask it), the upload time and the build time. (2) N versions with tiny
//! bundles uploaded through one-time grants (each client IP, sent as `x-forwarded-for`, stays
//! within the 16 grant uploads a minute): builds per second from the first upload to the last
//! build's `finishedAt`. Everything is measured and reported; nothing is asserted.

use crate::bundles;
use crate::client::Client;
use crate::report::Machine;
use crate::server::{self, Memory, Server};
use crate::upload_report::{Large, Report, Small};
use anyhow::{bail, Context};
use burstflare_api::{
    routes, AddVersionRequest, BuildDto, BuildResponse, BuildsResponse, CreateTemplateRequest, TemplateResponse,
    UploadGrantRequest, UploadGrantResponse, VersionResponse,
};
use chrono::Utc;
use hyper::body::Bytes;
use hyper::Method;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The content type every bundle is sent as.
const GZIP: &str = "application/gzip";
/// Grant uploads allowed per client IP and minute (`RateScope::SignedUpload`).
const UPLOADS_PER_IP: u32 = 16;
/// How often builds are polled.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pseudo-random bytes in the large bundle (its tar.gz is ~40 KiB more; the limit is 32 MiB).
    #[arg(long, default_value_t = 32 * 1024 * 1024 - 256 * 1024)]
    large_bytes: u64,
    /// Versions with tiny bundles for the builds/s measurement.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=5000))]
    versions: u32,
    /// Grant uploads in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    concurrency: u32,
    /// How long to wait for the builds, in seconds.
    #[arg(long, default_value_t = 600)]
    build_timeout_secs: u64,
    /// CPUs to pin the server to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "none")]
    cpus: String,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the data directory, the large bundle (both removed afterwards) and the log go.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench/upload-report.md")]
    out: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench-uploads")?;
    std::fs::create_dir_all(&args.work_dir)?;
    let cpus = (args.cpus != "none" && server::taskset_available()).then(|| args.cpus.clone());
    let machine = Machine::detect(cpus.clone());
    let (server, addr, _data) = server::start_fresh(&server_bin, &args.work_dir, "uploads", cpus.as_deref()).await?;

    let anonymous = Client::new(addr, "198.51.100.1")?;
    let owner = anonymous.register("bench.uploads@bench.example").await?;
    let create = CreateTemplateRequest { name: "bench-uploads".to_string(), description: None };
    let template: TemplateResponse = owner.json(Method::POST, routes::TEMPLATES, Some(&create)).await?;
    let template = template.template.id;

    eprintln!("large bundle…");
    let large = measure_large(&owner, &server, &template, &args).await?;
    eprintln!("{} versions with tiny bundles…", args.versions);
    let small = measure_small(&owner, &template, &args).await?;
    let memory = server.memory()?;
    server.stop().await?;

    let report = Report { machine, large, small, memory };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// Adds a version with the manifest `{"image": "x"}`.
async fn add_version(owner: &Client, template: &str, label: &str) -> anyhow::Result<VersionResponse> {
    let request =
        AddVersionRequest { version: label.to_string(), manifest: serde_json::json!({ "image": "x" }), notes: None };
    owner.json(Method::POST, &routes::path(routes::VERSIONS, &[template]), Some(&request)).await
}

async fn measure_large(owner: &Client, server: &Server, template: &str, args: &Args) -> anyhow::Result<Large> {
    let version = add_version(owner, template, "1.0.0").await?;
    let file = tempfile::Builder::new().prefix("large-").suffix(".tar.gz").tempfile_in(&args.work_dir)?;
    let bytes = bundles::write_large(file.path(), args.large_bytes, 0x5eed)?;
    let body = Bytes::from(std::fs::read(file.path())?);
    drop(file);

    // VmHWM := VmRSS now, so the peak that follows is the upload's and the build's own.
    let reset = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5").is_ok();
    let before = server.memory()?;
    let path = routes::path(routes::BUNDLE, &[template, &version.template_version.id]);
    let started = Instant::now();
    owner.send(Method::PUT, &path, Some(GZIP), body).await.context("uploading the large bundle")?;
    let upload = started.elapsed();
    let after_upload = server.memory()?;
    let build_path = routes::path(routes::BUILD, &[&version.build.id]);
    let deadline = started + Duration::from_secs(args.build_timeout_secs);
    let build = loop {
        let answer: BuildResponse = owner.json(Method::GET, &build_path, None::<&()>).await?;
        if is_done(&answer.build) {
            break answer.build;
        }
        if Instant::now() > deadline {
            bail!("the large bundle's build is still {} after {}s", answer.build.status, args.build_timeout_secs);
        }
        tokio::time::sleep(POLL).await;
    };
    let seen_done = started.elapsed();
    let after_build = server.memory()?;
    Ok(Large { bytes, upload, seen_done, reset, before, after_upload, after_build, build })
}

/// Whether a build will not change any more without a retry.
pub fn is_done(build: &BuildDto) -> bool {
    matches!(build.status.as_str(), "succeeded" | "failed" | "dead_lettered")
}

/// The `x-forwarded-for` of the `index`-th grant upload: a new address every [`UPLOADS_PER_IP`].
fn upload_ip(index: u32) -> String {
    let group = index / UPLOADS_PER_IP;
    format!("10.77.{}.{}", group / 250, group % 250 + 1)
}

async fn measure_small(owner: &Client, template: &str, args: &Args) -> anyhow::Result<Small> {
    let prefix = format!("http://{}/", owner.addr());
    let mut uploads = Vec::new();
    for i in 0..args.versions {
        let version = add_version(owner, template, &format!("2.0.{i}")).await?;
        let body = bundles::tiny(i)?;
        let grant = UploadGrantRequest { content_type: GZIP.to_string(), bytes: body.len() as u64 };
        let grant_path = routes::path(routes::BUNDLE_GRANT, &[template, &version.template_version.id]);
        let grant: UploadGrantResponse = owner.json(Method::POST, &grant_path, Some(&grant)).await?;
        let url = grant.upload_grant.url;
        let rest = url.strip_prefix(&prefix).with_context(|| format!("grant URL {url} is not on {prefix}"))?;
        uploads.push((format!("/{rest}"), Bytes::from(body), version.build.id));
    }
    // Let the runner skip the jobs that adding the versions queued (they have no bundle yet).
    tokio::time::sleep(Duration::from_secs(1)).await;

    let first_upload = Utc::now();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..args.concurrency {
        let mine: Vec<_> = (lane..args.versions)
            .step_by(args.concurrency as usize)
            .map(|i| (i, uploads[i as usize].0.clone(), uploads[i as usize].1.clone()))
            .collect();
        let base = Client::new(owner.addr(), "0.0.0.0")?;
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::with_capacity(mine.len());
            for (i, path, body) in mine {
                base.with_ip(&upload_ip(i)).send(Method::PUT, &path, Some(GZIP), body).await?;
                answered.push((i, Utc::now()));
            }
            Ok::<_, anyhow::Error>(answered)
        }));
    }
    let mut answered_at = vec![first_upload; uploads.len()];
    for task in tasks {
        for (i, at) in task.await.context("an upload task panicked")?? {
            answered_at[i as usize] = at;
        }
    }
    let upload_phase = started.elapsed();

    let deadline = started + Duration::from_secs(args.build_timeout_secs);
    let builds = loop {
        let all: BuildsResponse = owner.json(Method::GET, routes::BUILDS, None::<&()>).await?;
        let mine: Vec<BuildDto> =
            all.builds.into_iter().filter(|b| uploads.iter().any(|(_, _, id)| *id == b.id)).collect();
        if mine.len() == uploads.len() && mine.iter().all(is_done) {
            break mine;
        }
        if Instant::now() > deadline {
            let done = mine.iter().filter(|b| is_done(b)).count();
            bail!("{done} of {} builds done after {}s", uploads.len(), args.build_timeout_secs);
        }
        tokio::time::sleep(POLL * 5).await;
    };
    let answered = |id: &str| uploads.iter().position(|(_, _, b)| b == id).map(|i| answered_at[i]);
    Small::from_builds(first_upload, upload_phase, &builds, answered)
}

/// The memory figures, in MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Peak resident growth over `before`, in KiB.
pub fn growth(before: Memory, later: &[Memory]) -> u64 {
    later.iter().map(|m| m.peak_kib).max().unwrap_or(0).saturating_sub(before.peak_kib)
}
