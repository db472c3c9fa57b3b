//! The sessions benchmark's result as markdown: the machine, the load, the bare handler and
//! `GET /api/sessions` side by side (req/s, p50, p99), their ratio, and the servers' memory.
//! A report, not a test: nothing here fails a run.

use crate::load::{Load, Outcome};
use crate::report::{load_average, row, Machine};
use crate::server::Memory;
use crate::upload::mib;
use std::fmt::Write as _;
use std::time::Duration;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    pub load: Load,
    /// Sessions in the workspace while the list was loaded.
    pub sessions: usize,
    /// How long creating them took.
    pub created_in: Duration,
    /// Size of one `GET /api/sessions` answer.
    pub list_bytes: usize,
    pub bare: Outcome,
    pub bare_memory: Memory,
    pub list: Outcome,
    pub memory: Memory,
}

impl Report {
    pub fn markdown(&self) -> String {
        let (m, load) = (&self.machine, &self.load);
        let mut md = String::new();
        let pinning = match &m.pinned_to {
            Some(cpus) => format!("both servers pinned to CPUs {cpus} with `taskset`"),
            None => "servers not pinned".to_string(),
        };
        let _ = writeln!(md, "Machine: {} CPUs ({}), Linux {}; {pinning}.", m.cpus, m.cpu_model, m.kernel);
        let _ = writeln!(
            md,
            "The load generator runs on the same machine, on CPUs {}. Load averages: {} before the run, {} after it.\n",
            m.client_cpus,
            m.load_before,
            load_average()
        );
        let _ = writeln!(
            md,
            "Load: {} keep-alive HTTP/1.1 connections over loopback, closed loop, {:?} warm-up then {:?} measured \
             (at most {} requests).\n",
            load.connections, load.warmup, load.duration, load.max_requests
        );
        let _ = writeln!(
            md,
            "{} sessions created over HTTP in {:.1} s; one `GET /api/sessions` answer is {:.1} KiB.\n",
            self.sessions,
            self.created_in.as_secs_f64(),
            self.list_bytes as f64 / 1024.0
        );
        md.push_str(
            "| server | sessions | endpoint | requests | errors | req/s | p50 ms | p99 ms | p99.9 ms | max ms |\n",
        );
        md.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        row(&mut md, "bare axum handler", "–", "GET /bare", &self.bare);
        row(&mut md, "burstflare-server", &self.sessions.to_string(), "GET /api/sessions", &self.list);
        md.push('\n');
        for (name, outcome) in [("bare", &self.bare), ("list", &self.list)] {
            if let Some(e) = &outcome.first_error {
                let _ = writeln!(md, "First error of {name}: `{}`\n", e.chars().take(200).collect::<String>());
            }
        }
        let _ = writeln!(
            md,
            "Ratio: list / bare req/s = {:.3}. Memory (VmRSS after the run / VmHWM peak): bare {:.1} / {:.1} MiB, \
             burstflare-server {:.1} / {:.1} MiB.",
            self.list.rps() / self.bare.rps().max(f64::EPSILON),
            mib(self.bare_memory.rss_kib),
            mib(self.bare_memory.peak_kib),
            mib(self.memory.rss_kib),
            mib(self.memory.peak_kib)
        );
        md
    }
}
