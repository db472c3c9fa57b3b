//! `burstflare-bench runtime`: the local runtime, measured with real sessions of the release
//! server. A template runs a small Python app (`app.py`: `/` answers `ok`, `/big` streams N MiB);
//! the bench measures `start` → preview reachable over many starts, a large download through the
//! preview proxy next to the same download straight from the same app on loopback, the
//! `burstflare ssh SESSION -- true` round trip on a running and on a sleeping session, start +
//! stop pairs from concurrent clients, and the memory of the server and of one session's
//! processes. Everything is measured and reported; nothing is asserted.

use crate::client::Client;
use crate::runtime_report::{Distribution, Report};
use crate::server::{self, Server};
use crate::sessions::promote;
use anyhow::{bail, Context};
use burstflare_api::{routes, CreateSessionRequest, SessionResponse};
use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::Method;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The app every benchmark session runs.
const APP: &str = r#"import http.server, sys
MIB = b"x" * (1 << 20)
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        n = int(sys.argv[2]) if self.path.startswith("/big") else 0
        self.send_response(200)
        self.send_header("Content-Length", str(n * len(MIB) if n else 2))
        self.end_headers()
        if not n:
            self.wfile.write(b"ok")
        for _ in range(n):
            self.wfile.write(MIB)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App).serve_forever()
"#;
const PASSWORD: &str = "bench-owner-password";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Starts measured (each followed by a stop).
    #[arg(long, default_value_t = 50)]
    starts: u32,
    /// MiB downloaded through the preview and straight from the app.
    #[arg(long, default_value_t = 100)]
    download_mib: u32,
    /// `burstflare ssh SESSION -- true` runs per case (running, sleeping).
    #[arg(long, default_value_t = 10)]
    ssh_rounds: u32,
    /// Sessions started and stopped concurrently for the pairs measurement.
    #[arg(long, default_value_t = 8)]
    pair_sessions: u32,
    /// Seconds of start + stop pairs.
    #[arg(long, default_value_t = 10)]
    pair_secs: u64,
    /// The server's `--sandbox` (auto, bwrap or plain).
    #[arg(long, default_value = "auto")]
    sandbox: String,
    /// CPUs to pin the server to with `taskset -c` (`none` to not pin).
    #[arg(long, default_value = "0,1")]
    cpus: String,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    /// The CLI binary [default: `burstflare` beside this executable].
    #[arg(long)]
    cli: Option<PathBuf>,
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    #[arg(long, default_value = "target/bench/runtime-report.md")]
    out: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let server_bin = server::server_binary(args.server.as_deref(), "scripts/bench-runtime")?;
    let cli = args.cli.clone().unwrap_or(std::env::current_exe()?.with_file_name("burstflare"));
    if !cli.is_file() {
        bail!("{} not found: build it first (scripts/bench-runtime does)", cli.display());
    }
    std::fs::create_dir_all(&args.work_dir)?;
    let cpus = (args.cpus != "none" && server::taskset_available()).then(|| args.cpus.clone());
    let machine = crate::report::Machine::detect(cpus.clone());
    let extra = ["--sandbox".to_string(), args.sandbox.clone()];
    let (server, addr, data) =
        server::start_fresh_with(&server_bin, &args.work_dir, "runtime", cpus.as_deref(), &extra).await?;
    let owner = Client::new(addr, "198.51.100.7")?.register("bench.runtime@bench.example").await?;
    let plan = serde_json::json!({ "plan": "enterprise" });
    owner.send(Method::POST, routes::PLAN, Some("application/json"), Bytes::from(plan.to_string())).await?;
    let manifest = serde_json::json!({
        "image": "debian:12",
        "command": ["python3", "app.py", "8000", args.download_mib.to_string()],
        "previewPort": 8000,
    });
    let template =
        promote(&owner, "bench-runtime", manifest, Bytes::from(app_bundle()?), Duration::from_secs(120)).await?;
    let result = measure(&args, &owner, &template, &cli, addr, data.path()).await;
    let memory = server.memory()?;
    stop_all(&owner).await;
    stop(server).await?;
    let mut report = result?;
    report.machine = Some(machine);
    report.server_memory = memory;
    report.sandbox = args.sandbox.clone();
    let markdown = report.markdown();
    println!("{markdown}");
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

async fn measure(
    args: &Args,
    owner: &Client,
    template: &str,
    cli: &Path,
    addr: SocketAddr,
    data: &Path,
) -> anyhow::Result<Report> {
    let id = create(owner, template, "s0").await?;
    eprintln!("{} starts, each until the preview answers…", args.starts);
    let (mut starts, mut ready) = (Vec::new(), Vec::new());
    for _ in 0..args.starts {
        let began = Instant::now();
        lifecycle(owner, &id, routes::SESSION_START).await?;
        starts.push(began.elapsed());
        wait_for_preview(owner, &id).await?;
        ready.push(began.elapsed());
        lifecycle(owner, &id, routes::SESSION_STOP).await?;
    }
    lifecycle(owner, &id, routes::SESSION_START).await?;
    wait_for_preview(owner, &id).await?;
    let session_memory = session_rss_kib(data, &id);

    eprintln!("{} MiB through the preview and straight from the app…", args.download_mib);
    let preview_path = format!("/runtime/sessions/{id}/preview/big");
    let through = download(addr, &preview_path, owner.bearer()).await?;
    let direct = direct_download(args.download_mib).await?;

    eprintln!("ssh round trips…");
    let config = sign_in_cli(cli, addr).await?;
    let mut ssh_running = Vec::new();
    for _ in 0..args.ssh_rounds {
        ssh_running.push(ssh_true(cli, addr, &config, &id).await?);
    }
    let mut ssh_sleeping = Vec::new();
    for _ in 0..args.ssh_rounds {
        lifecycle(owner, &id, routes::SESSION_STOP).await?;
        ssh_sleeping.push(ssh_true(cli, addr, &config, &id).await?);
    }
    lifecycle(owner, &id, routes::SESSION_STOP).await?;

    eprintln!("start + stop pairs from {} clients for {} s…", args.pair_sessions, args.pair_secs);
    let (pairs, pair_starts, pair_stops, elapsed) = pairs(owner, template, args).await?;
    Ok(Report {
        machine: None,
        sandbox: String::new(),
        start: Distribution::of(&starts),
        start_to_preview: Distribution::of(&ready),
        download_mib: args.download_mib,
        through_preview: through,
        direct,
        ssh_running: Distribution::of(&ssh_running),
        ssh_sleeping: Distribution::of(&ssh_sleeping),
        pair_clients: args.pair_sessions,
        pairs,
        pair_elapsed: elapsed,
        pair_starts: Distribution::of(&pair_starts),
        pair_stops: Distribution::of(&pair_stops),
        server_memory: Default::default(),
        session_memory,
    })
}

/// A tar.gz holding `app.py`.
fn app_bundle() -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(APP.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "app.py", APP.as_bytes())?;
    Ok(tar.into_inner()?.finish()?)
}

pub(crate) async fn create(owner: &Client, template: &str, name: &str) -> anyhow::Result<String> {
    let request = CreateSessionRequest { name: name.to_string(), template_id: template.to_string() };
    let created: SessionResponse = owner.json(Method::POST, routes::SESSIONS, Some(&request)).await?;
    Ok(created.session.id)
}

pub(crate) async fn lifecycle(owner: &Client, id: &str, route: &str) -> anyhow::Result<()> {
    let answer: SessionResponse = owner.json(Method::POST, &routes::path(route, &[id]), None::<&()>).await?;
    match answer.session.state.as_str() {
        "running" | "sleeping" => Ok(()),
        other => bail!("session {id} is {other}: {}", answer.session.state_detail.unwrap_or_default()),
    }
}

/// Polls `GET …/preview/` until the app answers 200 (the agent itself waits for an app that is
/// coming up, so this is usually one request).
pub(crate) async fn wait_for_preview(owner: &Client, id: &str) -> anyhow::Result<()> {
    let path = format!("/runtime/sessions/{id}/preview/");
    for _ in 0..200 {
        if owner.call(Method::GET, &path, None, Bytes::new()).await?.0.is_success() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the preview of {id} never answered")
}

/// Bytes and seconds of one GET read to its end without keeping it.
async fn download(addr: SocketAddr, path: &str, bearer: Option<&str>) -> anyhow::Result<(u64, Duration)> {
    let began = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut request = hyper::Request::builder().uri(path).header("host", addr.to_string());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = sender.send_request(request.body(http_body_util::Empty::<Bytes>::new())?).await?;
    if !response.status().is_success() {
        bail!("GET {path}: {}", response.status());
    }
    let mut body = response.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes += data.len() as u64;
        }
    }
    Ok((bytes, began.elapsed()))
}

/// The same app run straight on this host, downloaded from directly.
async fn direct_download(mib: u32) -> anyhow::Result<(u64, Duration)> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("app.py"), APP)?;
    let addr = server::free_loopback_addr()?;
    let mut app = tokio::process::Command::new("python3")
        .args(["app.py", &addr.port().to_string(), &mib.to_string()])
        .current_dir(dir.path())
        .kill_on_drop(true)
        .spawn()
        .context("starting python3")?;
    let mut result = Err(anyhow::anyhow!("the app never listened"));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            result = download(addr, "/big", None).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.kill().await?;
    result
}

/// Signs the CLI in (its own config file in the work folder); returns the config's path.
async fn sign_in_cli(cli: &Path, addr: SocketAddr) -> anyhow::Result<PathBuf> {
    let config = tempfile::Builder::new().prefix("cli-").tempdir()?.keep().join("config.json");
    let mut child = cli_command(cli, addr, &config)
        .args(["auth", "login", "--email", "bench.runtime@bench.example", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    use tokio::io::AsyncWriteExt;
    child.stdin.take().context("stdin")?.write_all(format!("{PASSWORD}\n").as_bytes()).await?;
    if !child.wait().await?.success() {
        bail!("burstflare auth login failed");
    }
    Ok(config)
}

fn cli_command(cli: &Path, addr: SocketAddr, config: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(cli);
    command
        .env("BURSTFLARE_URL", format!("http://{addr}"))
        .env("BURSTFLARE_CONFIG", config)
        .env("BURSTFLARE_FORWARDED_FOR", "198.51.100.8")
        .kill_on_drop(true);
    command
}

async fn ssh_true(cli: &Path, addr: SocketAddr, config: &Path, id: &str) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let status = cli_command(cli, addr, config).args(["ssh", id, "--", "true"]).status().await?;
    if !status.success() {
        bail!("burstflare ssh {id} -- true: {status}");
    }
    Ok(began.elapsed())
}

/// Start + stop pairs on `pair_sessions` sessions, one client each, for `pair_secs`.
async fn pairs(
    owner: &Client,
    template: &str,
    args: &Args,
) -> anyhow::Result<(u64, Vec<Duration>, Vec<Duration>, Duration)> {
    let mut ids = Vec::new();
    for i in 0..args.pair_sessions {
        ids.push(create(owner, template, &format!("p{i}")).await?);
    }
    let began = Instant::now();
    let until = began + Duration::from_secs(args.pair_secs);
    let clients = ids.into_iter().map(|id| {
        let owner = owner.clone();
        tokio::spawn(async move {
            let (mut starts, mut stops) = (Vec::new(), Vec::new());
            while Instant::now() < until {
                let t = Instant::now();
                lifecycle(&owner, &id, routes::SESSION_START).await?;
                starts.push(t.elapsed());
                let t = Instant::now();
                lifecycle(&owner, &id, routes::SESSION_STOP).await?;
                stops.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>((starts, stops))
        })
    });
    let (mut starts, mut stops) = (Vec::new(), Vec::new());
    for client in clients.collect::<Vec<_>>() {
        let (s, t) = client.await??;
        starts.extend(s);
        stops.extend(t);
    }
    Ok((stops.len() as u64, starts, stops, began.elapsed()))
}

/// The resident memory of the session's agent and of all its processes (sandbox, agent, app),
/// in KiB, found from the driver's record of the session's process.
fn session_rss_kib(data: &Path, id: &str) -> Option<(u64, u64)> {
    let tree = session_processes(data, id)?;
    let rss = |pid: i64| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    let comm = |pid: i64| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let total = tree.iter().filter_map(|pid| rss(*pid)).sum();
    let agent = tree.iter().filter(|pid| comm(**pid).starts_with("burstflare-")).filter_map(|pid| rss(*pid)).max()?;
    Some((agent, total))
}

/// The session's processes: the one its driver recorded (`agent.json`) and all its descendants.
pub(crate) fn session_processes(data: &Path, id: &str) -> Option<Vec<i64>> {
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("sessions").join(id).join("agent.json")).ok()?).ok()?;
    let root = record["process"]["pid"].as_i64()?;
    let mut tree = vec![root];
    let mut changed = true;
    while changed {
        changed = false;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i64>().ok()) else { continue };
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)?.parse::<i64>().ok());
            if ppid.is_some_and(|p| tree.contains(&p)) && !tree.contains(&pid) {
                tree.push(pid);
                changed = true;
            }
        }
    }
    Some(tree)
}

/// Stops every session of the workspace (agents outlive the server on purpose).
async fn stop_all(owner: &Client) {
    let Ok(list) = owner.json::<(), burstflare_api::SessionsResponse>(Method::GET, routes::SESSIONS, None).await else {
        return;
    };
    for session in list.sessions.iter().filter(|s| s.state == "running") {
        let _ = owner.send(Method::POST, &routes::path(routes::SESSION_STOP, &[&session.id]), None, Bytes::new()).await;
    }
}

async fn stop(server: Server) -> anyhow::Result<()> {
    let exit = server.stop().await?;
    if !exit.success() {
        eprintln!("  burstflare-server exited with {exit} after SIGTERM");
    }
    Ok(())
}
