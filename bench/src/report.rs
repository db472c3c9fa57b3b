//! The benchmark's result as markdown: the machine, the load, one table row per endpoint and
//! store size, memory, the ratios, and whether each budget of `ARCHITECTURE.md` holds. This is a
//! report, not a test: nothing here fails a run.

use crate::load::{Load, Outcome};
use crate::seed::Seeded;
use crate::server::Memory;
use crate::wrk::WrkOutcome;
use std::fmt::Write as _;

/// The authenticated read must reach at least this share of the bare handler's requests/s.
const MIN_READ_SHARE: f64 = 0.30;
/// The authenticated write must reach this many requests/s…
const MIN_WRITE_RPS: f64 = 15_000.0;
/// …with its p99 below this, in milliseconds.
const MAX_WRITE_P99_MS: f64 = 10.0;
/// The bench's client is not the bottleneck when it drives the bare handler at least this share
/// as hard as `wrk` (faster than `wrk` is fine: the server, not the client, sets the pace).
const MIN_CLIENT_SHARE: f64 = 0.90;
/// "Flat": p50 and p99 with 10⁵ users within this factor of those with 10².
const FLAT_FACTOR: f64 = 2.0;
/// Peak resident memory of the server, in MiB.
const MAX_RSS_MIB: f64 = 64.0;

/// What the run was on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// The cores the servers were pinned to, if they were.
    pub pinned_to: Option<String>,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run started: other work on the machine skews
    /// every number.
    pub load_before: String,
    /// The CPUs the load generator (this process) may run on.
    pub client_cpus: String,
}

impl Machine {
    pub fn detect(pinned_to: Option<String>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|rest| rest.split_once(':')))
            .map_or_else(|| "unknown CPU".to_string(), |(_, model)| model.trim().to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let client_cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map_or_else(|| "unknown".to_string(), |cpus| cpus.trim().to_string());
        Machine { cpus, cpu_model, kernel, pinned_to, load_before: load_average(), client_cpus }
    }
}

impl Machine {
    /// More than one runnable task on average over the last minute, before the bench started.
    pub fn looks_busy(&self) -> bool {
        self.load_before.split(' ').next().and_then(|l| l.parse::<f64>().ok()).is_some_and(|l| l > 1.0)
    }
}

/// The 1, 5 and 15-minute load averages.
pub fn load_average() -> String {
    let raw = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    raw.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// One endpoint's numbers, whichever client measured them.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl From<&Outcome> for Summary {
    fn from(o: &Outcome) -> Self {
        Summary {
            requests: o.requests(),
            errors: o.errors,
            rps: o.rps(),
            p50_ms: o.quantile_ms(0.5),
            p99_ms: o.quantile_ms(0.99),
            p999_ms: o.quantile_ms(0.999),
            max_ms: o.latencies.max() as f64 / 1000.0,
        }
    }
}

impl From<&WrkOutcome> for Summary {
    fn from(o: &WrkOutcome) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            requests: o.requests,
            errors: o.errors + o.non2xx,
            rps: o.rps(),
            p50_ms: ms(o.p50_us),
            p99_ms: ms(o.p99_us),
            p999_ms: ms(o.p999_us),
            max_ms: ms(o.max_us),
        }
    }
}

/// One endpoint under both load generators (`wrk` only when it is installed).
#[derive(Debug, Clone)]
pub struct Measured {
    pub bench: Outcome,
    pub wrk: Option<WrkOutcome>,
}

impl Measured {
    fn by(&self, client: Client) -> Summary {
        match (client, &self.wrk) {
            (Client::Wrk, Some(wrk)) => wrk.into(),
            _ => (&self.bench).into(),
        }
    }
}

/// Which load generator the targets are judged with: the one that drove the bare handler hardest.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Client {
    Bench,
    Wrk,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Bench => "bench client",
            Client::Wrk => "wrk",
        }
    }
}

/// The native server with one store size.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seeded: Seeded,
    pub read: Measured,
    pub write: Measured,
    pub memory: Memory,
    /// Lines the server logged while it ran.
    pub log_lines: usize,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    pub load: Load,
    pub bare: Measured,
    pub bare_memory: Memory,
    pub small: Scenario,
    pub large: Scenario,
    /// Load averages when the run ended.
    pub load_after: String,
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        self.write_setup(&mut md);
        self.write_table(&mut md);
        self.write_targets(&mut md);
        md
    }

    fn write_setup(&self, md: &mut String) {
        let (m, load) = (&self.machine, &self.load);
        let pinning = match &m.pinned_to {
            Some(cpus) => format!("both servers pinned to CPUs {cpus} with `taskset`"),
            None => "servers not pinned".to_string(),
        };
        let _ = writeln!(md, "Machine: {} CPUs ({}), Linux {}; {pinning}.", m.cpus, m.cpu_model, m.kernel);
        let _ = writeln!(
            md,
            "The load generator runs on the same machine, on CPUs {}: client and server compete for the same cores.",
            m.client_cpus
        );
        let _ = writeln!(md, "Load averages: {} before the run, {} after it.\n", m.load_before, self.load_after);
        let _ = writeln!(
            md,
            "Load: {} keep-alive HTTP/1.1 connections over loopback, closed loop, {:?} warm-up then {:?} measured \
             (at most {} requests).\n",
            load.connections, load.warmup, load.duration, load.max_requests
        );
        for s in [&self.small, &self.large] {
            let _ = writeln!(
                md,
                "- Seeded {} users ({} rows: user, workspace, membership, access token each) in {:.1} s; \
                 database {:.1} MiB.",
                s.seeded.users,
                s.seeded.users * 4,
                s.seeded.elapsed.as_secs_f64(),
                mib(s.seeded.db_bytes / 1024)
            );
        }
        md.push('\n');
    }

    fn write_table(&self, md: &mut String) {
        md.push_str(
            "| server | stored users | endpoint | client | requests | errors | req/s | p50 ms | p99 ms | p99.9 ms | max ms |\n",
        );
        md.push_str("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        measured_rows(md, "bare axum handler", "–", "GET /bare", &self.bare);
        for s in [&self.small, &self.large] {
            let users = s.seeded.users.to_string();
            measured_rows(md, "burstflare-server", &users, "GET /api/auth/me", &s.read);
            measured_rows(md, "burstflare-server", &users, "POST /api/workspaces/current/invites", &s.write);
        }
        md.push('\n');
        md.push_str("| server | stored users | VmRSS MiB (after run) | VmHWM MiB (peak) | log lines |\n|---|---:|---:|---:|---:|\n");
        let _ = writeln!(
            md,
            "| bare axum handler | – | {:.1} | {:.1} | – |",
            mib(self.bare_memory.rss_kib),
            mib(self.bare_memory.peak_kib)
        );
        for s in [&self.small, &self.large] {
            let (rss, peak) = (mib(s.memory.rss_kib), mib(s.memory.peak_kib));
            let _ = writeln!(md, "| burstflare-server | {} | {rss:.1} | {peak:.1} | {} |", s.seeded.users, s.log_lines);
        }
        md.push('\n');
        let runs = [("bare", &self.bare), ("read (small)", &self.small.read), ("write (small)", &self.small.write)];
        let runs = runs.into_iter().chain([("read (large)", &self.large.read), ("write (large)", &self.large.write)]);
        for (name, measured) in runs {
            if let Some(e) = &measured.bench.first_error {
                let _ = writeln!(md, "First error of {name}: `{}`\n", e.chars().take(200).collect::<String>());
            }
        }
    }

    /// The load generator that drove the bare handler hardest, and how the two compare.
    fn client(&self) -> (Client, Option<f64>) {
        match &self.bare.wrk {
            Some(wrk) => {
                let ratio = self.bare.bench.rps() / wrk.rps().max(f64::EPSILON);
                (if ratio >= 1.0 { Client::Bench } else { Client::Wrk }, Some(ratio))
            }
            None => (Client::Bench, None),
        }
    }

    fn write_targets(&self, md: &mut String) {
        let (client, agreement) = self.client();
        let bare = self.bare.by(client);
        let (small_read, large_read) = (self.small.read.by(client), self.large.read.by(client));
        let (small_write, large_write) = (self.small.write.by(client), self.large.write.by(client));
        let share = large_read.rps / bare.rps;
        let share_small = small_read.rps / bare.rps;
        let _ = writeln!(
            md,
            "Judged with {} (it drove the bare handler hardest). Ratios: read / bare req/s = {share:.2} with {} \
             users, {share_small:.2} with {} users.\n",
            client.name(),
            self.large.seeded.users,
            self.small.seeded.users
        );
        let growth = |a: f64, b: f64| b / a.max(0.001);
        let (read_p50, read_p99) =
            (growth(small_read.p50_ms, large_read.p50_ms), growth(small_read.p99_ms, large_read.p99_ms));
        let (write_p50, write_p99) =
            (growth(small_write.p50_ms, large_write.p50_ms), growth(small_write.p99_ms, large_write.p99_ms));
        let peak = mib(self.small.memory.peak_kib.max(self.large.memory.peak_kib));
        let conns = self.load.connections;
        let users = format!("{} → {} users", self.small.seeded.users, self.large.seeded.users);
        let slowest_write = if small_write.rps < large_write.rps { small_write } else { large_write };
        let worst_write_p99 = small_write.p99_ms.max(large_write.p99_ms);
        md.push_str("| target | measured | holds |\n|---|---|---|\n");
        let agree = match agreement {
            Some(ratio) => (
                format!("bench client ≥ {:.0}% of wrk's req/s on the bare handler", MIN_CLIENT_SHARE * 100.0),
                format!("{:.0} vs {:.0} req/s (×{ratio:.2})", self.bare.bench.rps(), bare_wrk_rps(&self.bare)),
                ratio >= MIN_CLIENT_SHARE,
            ),
            None => ("bench client agrees with wrk".to_string(), "not measured: wrk not installed".to_string(), false),
        };
        let rows = [
            agree,
            (
                format!("authenticated read ≥ {:.0}% of bare handler req/s", MIN_READ_SHARE * 100.0),
                format!("{:.0}% ({:.0} vs {:.0} req/s)", share * 100.0, large_read.rps, bare.rps),
                share >= MIN_READ_SHARE && share_small >= MIN_READ_SHARE,
            ),
            (
                format!("authenticated write ≥ {MIN_WRITE_RPS:.0} req/s at {conns} connections"),
                format!("{:.0} req/s", slowest_write.rps),
                slowest_write.rps >= MIN_WRITE_RPS,
            ),
            (
                format!("write p99 < {MAX_WRITE_P99_MS} ms at {conns} connections"),
                format!("{worst_write_p99:.2} ms"),
                worst_write_p99 < MAX_WRITE_P99_MS,
            ),
            (
                format!("read latency flat, {users} (p50, p99 within {FLAT_FACTOR}×)"),
                format!("p50 ×{read_p50:.2}, p99 ×{read_p99:.2}"),
                read_p50 <= FLAT_FACTOR && read_p99 <= FLAT_FACTOR,
            ),
            (
                format!("write latency flat, {users} (p50, p99 within {FLAT_FACTOR}×)"),
                format!("p50 ×{write_p50:.2}, p99 ×{write_p99:.2}"),
                write_p50 <= FLAT_FACTOR && write_p99 <= FLAT_FACTOR,
            ),
            (format!("server peak RSS (VmHWM) < {MAX_RSS_MIB} MiB"), format!("{peak:.1} MiB"), peak < MAX_RSS_MIB),
        ];
        for (target, measured, holds) in rows {
            let _ = writeln!(md, "| {target} | {measured} | {} |", if holds { "yes" } else { "**no**" });
        }
    }
}

fn bare_wrk_rps(bare: &Measured) -> f64 {
    bare.wrk.as_ref().map_or(0.0, WrkOutcome::rps)
}

/// An endpoint's row for each client that measured it.
fn measured_rows(md: &mut String, server: &str, users: &str, endpoint: &str, m: &Measured) {
    summary_row(md, server, users, endpoint, "bench", &(&m.bench).into());
    if let Some(wrk) = &m.wrk {
        summary_row(md, server, users, endpoint, "wrk", &wrk.into());
    }
}

fn summary_row(md: &mut String, server: &str, users: &str, endpoint: &str, client: &str, s: &Summary) {
    let _ = writeln!(
        md,
        "| {server} | {users} | `{endpoint}` | {client} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        s.requests, s.errors, s.rps, s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms
    );
}

pub fn row(md: &mut String, server: &str, users: &str, endpoint: &str, o: &Outcome) {
    let _ = writeln!(
        md,
        "| {server} | {users} | `{endpoint}` | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        o.requests(),
        o.errors,
        o.rps(),
        o.quantile_ms(0.5),
        o.quantile_ms(0.99),
        o.quantile_ms(0.999),
        o.latencies.max() as f64 / 1000.0
    );
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
