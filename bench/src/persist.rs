//! `burstflare-bench persist`: a persisted path of 100 MiB (many small files and a few large ones
//! whose bytes do not compress) saved when the session stops and restored when it starts again,
//! with the real local runtime of the release server. It reports the seconds of each, the
//! archive's size, and how far the server's and the agent's peak RSS rose while doing it (the
//! archive streams through both; neither should hold it). Nothing is asserted.

use crate::client::Client;
use crate::runtime::{create, lifecycle, session_processes};
use crate::server;
use crate::sessions::promote;
use anyhow::{bail, Context};
use burstflare_api::routes;
use hyper::body::Bytes;
use hyper::Method;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MiB in the persisted path.
    #[arg(long, default_value_t = 100)]
    mib: u64,
    /// How many small files (2 KiB of text each) make part of it; large files make the rest.
    #[arg(long, default_value_t = 2000)]
    small_files: u64,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    #[arg(long, default_value = "target/bench/persist-report.md")]
    out: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work_dir)?;
    let bin = server::server_binary(args.server.as_deref(), "scripts/bench-persist")?;
    let (server, addr, data) = server::start_fresh(&bin, &args.work_dir, "persist", None).await?;
    let owner = Client::new(addr, "198.51.100.10")?.register("bench.persist@bench.example").await?;
    let plan = serde_json::json!({ "plan": "enterprise" });
    owner.send(Method::POST, routes::PLAN, Some("application/json"), Bytes::from(plan.to_string())).await?;
    let manifest = serde_json::json!({ "image": "debian:12", "persistedPaths": ["/workspace/data"] });
    let template =
        promote(&owner, "bench-persist", manifest, Bytes::from(readme_bundle()?), Duration::from_secs(120)).await?;
    let id = create(&owner, &template, "p0").await?;
    lifecycle(&owner, &id, routes::SESSION_START).await?;
    let dir = data.path().join("sessions").join(&id).join("workspace").join("data");
    let (files, bytes) = write_files(&dir, args.mib << 20, args.small_files)?;
    eprintln!("{files} files, {} MiB, in the persisted path; stopping (save)…", bytes >> 20);

    let agent = agent_pid(data.path(), &id).context("the session's agent")?;
    let agent_idle = peak_kib(agent).context("the agent's memory")?;
    let server_before = server.memory()?.peak_kib;
    let watch = tokio::task::spawn_blocking(move || {
        let mut last = 0;
        while let Some(peak) = peak_kib(agent) {
            last = peak;
            std::thread::sleep(Duration::from_millis(10));
        }
        last
    });
    let began = Instant::now();
    lifecycle(&owner, &id, routes::SESSION_STOP).await?;
    let save = began.elapsed();
    let agent_saving = watch.await?;
    let server_after_save = server.memory()?.peak_kib;
    let archive = latest_bytes(&owner, &id).await?;

    eprintln!("restoring on a fresh folder…");
    std::fs::remove_dir_all(&dir)?;
    let began = Instant::now();
    lifecycle(&owner, &id, routes::SESSION_START).await?;
    let restore = began.elapsed();
    let agent_restoring = agent_pid(data.path(), &id).and_then(peak_kib).unwrap_or(0);
    let server_after_restore = server.memory()?.peak_kib;
    let (files_back, bytes_back) = count(&dir)?;
    if (files_back, bytes_back) != (files, bytes) {
        bail!("restored {files_back} files, {bytes_back} bytes; saved {files}, {bytes}");
    }
    lifecycle(&owner, &id, routes::SESSION_STOP).await?;
    let _ = server.stop().await;

    let mut out = String::from("## A persisted path saved and restored\n\n");
    let _ = writeln!(out, "{files} files, {:.1} MiB; archive {:.1} MiB (tar + zstd).\n", mib(bytes), mib(archive));
    out.push_str("| step | seconds | server peak RSS rise (MiB) | agent peak RSS rise (MiB) |\n|---|---:|---:|---:|\n");
    let rise = |after: u64, before: u64| after.saturating_sub(before) as f64 / 1024.0;
    let _ = writeln!(
        out,
        "| save (stop) | {:.2} | {:.1} | {:.1} |",
        save.as_secs_f64(),
        rise(server_after_save, server_before),
        rise(agent_saving, agent_idle)
    );
    let _ = writeln!(
        out,
        "| restore (start, fresh folder) | {:.2} | {:.1} | {:.1} |",
        restore.as_secs_f64(),
        rise(server_after_restore, server_after_save),
        rise(agent_restoring, agent_idle)
    );
    let _ = writeln!(
        out,
        "\nServer peak RSS {:.1} MiB before, {:.1} after the save, {:.1} after the restore; \
         the idle agent's peak {:.1} MiB.",
        server_before as f64 / 1024.0,
        server_after_save as f64 / 1024.0,
        server_after_restore as f64 / 1024.0,
        agent_idle as f64 / 1024.0
    );
    println!("{out}");
    std::fs::write(&args.out, &out).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A tar.gz holding a README (the session's workspace besides the persisted path).
fn readme_bundle() -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    tar.append_data(&mut header, "README", &b"bench"[..])?;
    Ok(tar.into_inner()?.finish()?)
}

/// `small` text files of 2 KiB in 20 folders, then large files of bytes that do not compress
/// until `total` bytes; returns (files, bytes).
fn write_files(dir: &Path, total: u64, small: u64) -> anyhow::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for i in 0..small {
        let folder = dir.join(format!("src{}", i % 20));
        std::fs::create_dir_all(&folder)?;
        let line = format!("line of file {i}: the quick brown fox jumps over the lazy dog\n");
        let body = line.repeat(2048 / line.len() + 1)[..2048].to_string();
        std::fs::write(folder.join(format!("f{i}.txt")), &body)?;
        (files, bytes) = (files + 1, bytes + body.len() as u64);
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut n = 0;
    while bytes < total {
        let size = (total - bytes).min(32 << 20);
        let mut body = Vec::with_capacity(size as usize);
        while (body.len() as u64) < size {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            body.extend_from_slice(&state.to_le_bytes());
        }
        body.truncate(size as usize);
        std::fs::create_dir_all(dir.join("blobs"))?;
        std::fs::write(dir.join("blobs").join(format!("b{n}.bin")), &body)?;
        (files, bytes, n) = (files + 1, bytes + size, n + 1);
    }
    Ok((files, bytes))
}

/// Files and bytes under `dir`.
fn count(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let (f, b) = count(&entry.path())?;
            (files, bytes) = (files + f, bytes + b);
        } else {
            (files, bytes) = (files + 1, bytes + entry.metadata()?.len());
        }
    }
    Ok((files, bytes))
}

/// The session's agent process (among its sandbox's processes).
fn agent_pid(data: &Path, id: &str) -> Option<i64> {
    let comm = |pid: i64| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    session_processes(data, id)?.into_iter().find(|pid| comm(*pid).starts_with("burstflare-"))
}

/// The process's peak RSS (VmHWM) in KiB, while it exists.
fn peak_kib(pid: i64) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The size of the session's latest snapshot.
async fn latest_bytes(owner: &Client, id: &str) -> anyhow::Result<u64> {
    let list: serde_json::Value = owner.json(Method::GET, &routes::path(routes::SNAPSHOTS, &[id]), None::<&()>).await?;
    let latest = list["latestSnapshotId"].clone();
    let snapshots = list["snapshots"].as_array().context("snapshots")?;
    let snapshot = snapshots.iter().find(|s| s["id"] == latest).context("no latest snapshot after the save")?;
    snapshot["bytes"].as_u64().context("the snapshot's size")
}
