//! `burstflare-bench shapes`: the two runtimes side by side in one run: the native server's local
//! runtime and the Worker's Cloudflare Containers under `wrangler dev` (a deployment at
//! `--worker-url`, e.g. the one `scripts/dev-worker` prints). Each shape gets a template whose app
//! is BusyBox's `httpd` (in the host's `/usr` natively, in the session image in a container), and
//! is measured the same way: `start` → preview reachable over many starts, and the round trip of
//! one keystroke through the terminal WebSocket (the shell's echo). Nothing is asserted.

use crate::client::{loopback_url, Client};
use crate::runtime::{create, lifecycle, wait_for_preview};
use crate::runtime_report::Distribution;
use crate::server;
use crate::sessions::promote;
use anyhow::{bail, Context};
use burstflare_api::routes;
use futures_util::{SinkExt, StreamExt};
use hyper::body::Bytes;
use hyper::Method;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Worker under `wrangler dev` with containers (`scripts/dev-worker` prints it).
    #[arg(long)]
    worker_url: String,
    /// Starts measured per shape (each followed by a stop).
    #[arg(long, default_value_t = 20)]
    starts: u32,
    /// Keystroke round trips per shape.
    #[arg(long, default_value_t = 50)]
    keystrokes: u32,
    /// The server binary [default: `burstflare-server` beside this executable].
    #[arg(long)]
    server: Option<PathBuf>,
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    #[arg(long, default_value = "target/bench/shapes-report.md")]
    out: PathBuf,
}

/// What one shape measured.
struct Shape {
    name: &'static str,
    start: Distribution,
    ready: Distribution,
    keystroke: Distribution,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work_dir)?;
    let bin = server::server_binary(args.server.as_deref(), "scripts/bench-shapes")?;
    let (native, addr, _data) = server::start_fresh(&bin, &args.work_dir, "shapes", None).await?;
    let mut shapes = vec![measure("native server, local runtime", Client::new(addr, "198.51.100.8")?, &args).await];
    let _ = native.stop().await;
    let worker = Client::new(loopback_url(&args.worker_url)?, "198.51.100.9")?;
    shapes.push(measure("Worker under wrangler dev, containers", worker, &args).await);
    let shapes: Vec<Shape> = shapes.into_iter().collect::<anyhow::Result<_>>()?;
    let markdown = report(&shapes, &args);
    println!("{markdown}");
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

async fn measure(name: &'static str, anonymous: Client, args: &Args) -> anyhow::Result<Shape> {
    eprintln!("{name}: {} starts, then {} keystrokes…", args.starts, args.keystrokes);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let owner = anonymous.register(&format!("bench.shapes.{nanos}@bench.example")).await?;
    let manifest = serde_json::json!({
        "image": "burstflare-session",
        "command": ["busybox", "httpd", "-f", "-p", "8000", "-h", "/workspace"],
        "previewPort": 8000,
    });
    let template = promote(&owner, "bench-shapes", manifest, Bytes::from(site()?), Duration::from_secs(120)).await?;
    let id = create(&owner, &template, "s0").await?;
    let (mut starts, mut ready) = (Vec::new(), Vec::new());
    for _ in 0..args.starts {
        let began = Instant::now();
        lifecycle(&owner, &id, routes::SESSION_START).await?;
        starts.push(began.elapsed());
        wait_for_preview(&owner, &id).await?;
        ready.push(began.elapsed());
        lifecycle(&owner, &id, routes::SESSION_STOP).await?;
    }
    lifecycle(&owner, &id, routes::SESSION_START).await?;
    let keystroke = keystrokes(&owner, &id, args.keystrokes).await;
    let _ = owner.call(Method::POST, &routes::path(routes::SESSION_STOP, &[&id]), None, Bytes::new()).await;
    Ok(Shape { name, start: Distribution::of(&starts), ready: Distribution::of(&ready), keystroke: keystroke? })
}

/// A tar.gz holding `index.html`.
fn site() -> anyhow::Result<Vec<u8>> {
    let page = b"ok";
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(page.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "index.html", &page[..])?;
    Ok(tar.into_inner()?.finish()?)
}

/// Opens the terminal, waits for the prompt, then types one character at a time and times each
/// until the shell's echo of it comes back.
async fn keystrokes(owner: &Client, id: &str, count: u32) -> anyhow::Result<Distribution> {
    let url = format!("ws://{}/runtime/sessions/{id}/terminal", owner.addr());
    let mut request = url.into_client_request()?;
    let bearer = format!("Bearer {}", owner.bearer().unwrap_or_default());
    request.headers_mut().insert("authorization", bearer.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("opening the terminal")?;
    // The prompt, then quiet.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), socket.next()).await {}
    let mut samples = Vec::new();
    for i in 0..count {
        let key = [b'a' + (i % 26) as u8];
        let began = Instant::now();
        socket.send(Message::Binary(key.to_vec().into())).await?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
            match frame {
                Ok(Some(Ok(Message::Binary(bytes)))) if bytes.contains(&key[0]) => break,
                Ok(Some(Ok(_))) => continue,
                Ok(other) => bail!("the terminal ended: {other:?}"),
                Err(_) => bail!("no echo in 10 s"),
            }
        }
        samples.push(began.elapsed());
    }
    let _ = socket.close(None).await;
    Ok(Distribution::of(&samples))
}

fn report(shapes: &[Shape], args: &Args) -> String {
    let mut out = String::from("## The two runtimes, one run\n\n");
    let _ = writeln!(
        out,
        "{} starts and {} keystrokes per shape; milliseconds. Worker: {}\n",
        args.starts, args.keystrokes, args.worker_url
    );
    out.push_str("| shape | start p50 | start p99 | start → preview p50 | start → preview p99 | keystroke p50 | keystroke p99 |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for s in shapes {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} |",
            s.name, s.start.p50, s.start.p99, s.ready.p50, s.ready.p99, s.keystroke.p50, s.keystroke.p99
        );
    }
    out
}
