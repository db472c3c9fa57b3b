//! `wrk` as a second load generator, to check that the bench's own client is not the bottleneck:
//! the same target, connections, warm-up and duration, one `wrk` thread per CPU. A Lua script
//! makes each request (unique invitee emails for the write) and prints the summary as one JSON
//! line. `scripts/bench` installs Debian's `wrk` when it is missing; without it the check is
//! reported as not run.

use crate::load::{Body, Load, Target};
use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What `wrk` measured.
#[derive(Debug, Clone, Deserialize)]
pub struct WrkOutcome {
    pub requests: u64,
    /// Microseconds from the first request to the end.
    pub duration_us: u64,
    /// Connect, read, write and timeout errors.
    pub errors: u64,
    /// Answers that were not 2xx or 3xx.
    pub non2xx: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl WrkOutcome {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6).max(f64::EPSILON)
    }
}

/// `wrk`, if it can be run (`wrk -v` prints its version; its exit status does not matter).
pub fn find() -> Option<std::path::PathBuf> {
    let wrk = std::path::PathBuf::from("wrk");
    Command::new(&wrk).arg("-v").output().ok().map(|_| wrk)
}

/// Loads `target` with `wrk`: a warm-up run (not counted), then the measured run.
pub fn run(wrk: &Path, target: &Target, load: Load, work_dir: &Path) -> anyhow::Result<WrkOutcome> {
    let script = work_dir.join("wrk-request.lua");
    std::fs::write(&script, lua(target)?).with_context(|| format!("writing {}", script.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(load.connections);
    if !load.warmup.is_zero() {
        once(wrk, target, (load.connections, threads), load.warmup, &script, "warmup")?;
    }
    once(wrk, target, (load.connections, threads), load.duration, &script, "measured")
}

fn once(
    wrk: &Path,
    target: &Target,
    (connections, threads): (usize, usize),
    duration: Duration,
    script: &Path,
    label: &str,
) -> anyhow::Result<WrkOutcome> {
    let seconds = duration.as_secs().max(1);
    let output = Command::new(wrk)
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{seconds}s")])
        .args(["--timeout", "5s", "-s"])
        .arg(script)
        .arg(format!("http://{}{}", target.addr, target.path))
        .args(["--", label])
        .output()
        .with_context(|| format!("running {}", wrk.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed ({}): {stdout}{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let line = stdout.lines().find_map(|line| line.strip_prefix("BENCH_JSON ")).context("no summary from wrk")?;
    let outcome: WrkOutcome = serde_json::from_str(line).with_context(|| format!("reading wrk's summary {line}"))?;
    if outcome.requests == 0 {
        bail!("wrk completed no request in {seconds} s: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(outcome)
}

/// The script: the target's method, headers and body; a unique invitee per request for the write
/// (`wrk-<run>-<thread>-<n>@bench.example`); the summary as JSON.
fn lua(target: &Target) -> anyhow::Result<String> {
    let quote = |text: &str| serde_json::to_string(text);
    let mut headers = String::new();
    if let Some(token) = &target.bearer {
        headers.push_str(&format!("wrk.headers[\"authorization\"] = {}\n", quote(&format!("Bearer {token}"))?));
    }
    let request = match target.body {
        Body::Empty => String::new(),
        Body::UniqueInvite => concat!(
            "wrk.headers[\"content-type\"] = \"application/json\"\n",
            "local threads = 0\n",
            "local run = \"\"\n",
            "function init(args) run = args[1] or \"\" end\n",
            "function setup(thread) threads = threads + 1; thread:set(\"tid\", threads) end\n",
            "local sent = 0\n",
            "function request()\n",
            "  sent = sent + 1\n",
            "  local body = string.format('{\"email\":\"wrk-%s-%d-%d@bench.example\",\"role\":\"member\"}', run, tid, sent)\n",
            "  return wrk.format(nil, nil, nil, body)\n",
            "end\n",
        )
        .to_string(),
    };
    Ok(format!(
        "wrk.method = {method}\n{headers}{request}{done}",
        method = quote(target.method.as_str())?,
        done = concat!(
            "function done(summary, latency, requests)\n",
            "  local e = summary.errors\n",
            "  io.write(string.format('BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"errors\":%d,\"non2xx\":%d,",
            "\"p50_us\":%d,\"p99_us\":%d,\"p999_us\":%d,\"max_us\":%d}\\n',\n",
            "    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,\n",
            "    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))\n",
            "end\n",
        )
    ))
}
