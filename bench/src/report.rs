//! The benchmark's result as markdown: the machine, the load, one table row per endpoint and
//! store size, memory, the ratios, and whether each budget of `ARCHITECTURE.md` holds. This is a
//! report, not a test: nothing here fails a run.

use crate::load::{Load, Outcome};
use crate::seed::Seeded;
use crate::server::Memory;
use std::fmt::Write as _;

/// The authenticated read must reach at least this share of the bare handler's requests/s.
const MIN_READ_SHARE: f64 = 0.25;
/// p99 of the authenticated read must stay below this, in milliseconds.
const MAX_P99_MS: f64 = 5.0;
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

/// The native server with one store size.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seeded: Seeded,
    pub read: Outcome,
    pub write: Outcome,
    pub memory: Memory,
    /// Lines the server logged while it ran.
    pub log_lines: usize,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    pub load: Load,
    pub bare: Outcome,
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
            "| server | stored users | endpoint | requests | errors | req/s | p50 ms | p99 ms | p99.9 ms | max ms |\n",
        );
        md.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        row(md, "bare axum handler", "–", "GET /bare", &self.bare);
        for s in [&self.small, &self.large] {
            let users = s.seeded.users.to_string();
            row(md, "burstflare-server", &users, "GET /api/auth/me", &s.read);
            row(md, "burstflare-server", &users, "POST /api/workspaces/current/invites", &s.write);
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
        for (name, outcome) in runs {
            if let Some(e) = &outcome.first_error {
                let _ = writeln!(md, "First error of {name}: `{}`\n", e.chars().take(200).collect::<String>());
            }
        }
    }

    fn write_targets(&self, md: &mut String) {
        let (small, large) = (&self.small, &self.large);
        let share = large.read.rps() / self.bare.rps();
        let share_small = small.read.rps() / self.bare.rps();
        let write_share = large.write.rps() / self.bare.rps();
        let _ = writeln!(
            md,
            "Ratios: read / bare req/s = {share:.2} with {} users, {share_small:.2} with {} users; \
             write / bare = {write_share:.2}.\n",
            large.seeded.users, small.seeded.users
        );
        let growth = |q: f64, a: &Outcome, b: &Outcome| b.quantile_ms(q) / a.quantile_ms(q).max(0.001);
        let flat = |a: &Outcome, b: &Outcome| (growth(0.5, a, b), growth(0.99, a, b));
        let (read_p50, read_p99) = flat(&small.read, &large.read);
        let (write_p50, write_p99) = flat(&small.write, &large.write);
        let peak = mib(small.memory.peak_kib.max(large.memory.peak_kib));
        let conns = self.load.connections;
        let users = format!("{} → {} users", small.seeded.users, large.seeded.users);
        md.push_str("| target | measured | holds |\n|---|---|---|\n");
        let rows = [
            (
                format!("authenticated read ≥ {:.0}% of bare handler req/s", MIN_READ_SHARE * 100.0),
                format!("{:.0}% ({:.0} vs {:.0} req/s)", share * 100.0, large.read.rps(), self.bare.rps()),
                share >= MIN_READ_SHARE,
            ),
            (
                format!("read p99 < {MAX_P99_MS} ms at {conns} connections"),
                format!("{:.2} ms", large.read.quantile_ms(0.99)),
                large.read.quantile_ms(0.99) < MAX_P99_MS,
            ),
            (
                format!("write p99 < {MAX_P99_MS} ms at {conns} connections"),
                format!("{:.2} ms", large.write.quantile_ms(0.99)),
                large.write.quantile_ms(0.99) < MAX_P99_MS,
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
