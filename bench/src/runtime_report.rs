//! The runtime benchmark's result as markdown: start and start-to-preview latencies, the download
//! through the preview next to the direct one, SSH round trips, start + stop pairs and memory.
//! A report, not a test: nothing here fails a run.

use crate::report::{load_average, Machine};
use crate::server::Memory;
use crate::upload::mib;
use std::fmt::Write as _;
use std::time::Duration;

/// Quantiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Distribution {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
        Self { count: ms.len(), p50: at(0.50), p99: at(0.99), max: ms.last().copied().unwrap_or(0.0) }
    }

    fn row(&self, what: &str) -> String {
        format!("| {what} | {} | {:.1} | {:.1} | {:.1} |\n", self.count, self.p50, self.p99, self.max)
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Option<Machine>,
    pub sandbox: String,
    pub start: Distribution,
    pub start_to_preview: Distribution,
    pub download_mib: u32,
    /// Bytes and time through the preview proxy, and straight from the app.
    pub through_preview: (u64, Duration),
    pub direct: (u64, Duration),
    pub ssh_running: Distribution,
    pub ssh_sleeping: Distribution,
    pub pair_clients: u32,
    pub pairs: u64,
    pub pair_elapsed: Duration,
    pub pair_starts: Distribution,
    pub pair_stops: Distribution,
    pub server_memory: Memory,
    /// The agent's RSS and that of all the session's processes, KiB.
    pub session_memory: Option<(u64, u64)>,
}

fn mib_per_s((bytes, took): (u64, Duration)) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64().max(1e-9)
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        if let Some(m) = &self.machine {
            let pinning = m.pinned_to.as_deref().map_or("not pinned".to_string(), |c| format!("pinned to CPUs {c}"));
            let _ = writeln!(md, "Machine: {} CPUs ({}), Linux {}; server {pinning}.", m.cpus, m.cpu_model, m.kernel);
            let _ = writeln!(
                md,
                "Load averages: {} before, {} after. Sandbox: `{}`.\n",
                m.load_before,
                load_average(),
                self.sandbox
            );
        }
        md.push_str("| measurement | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n");
        md.push_str(&self.start.row("`POST …/start` (agent healthy)"));
        md.push_str(&self.start_to_preview.row("start → preview answers"));
        md.push_str(&self.ssh_running.row("`burstflare ssh S -- true`, running"));
        md.push_str(&self.ssh_sleeping.row("`burstflare ssh S -- true`, sleeping (wakes it)"));
        md.push_str(&self.pair_starts.row(&format!("start in pairs ({} clients)", self.pair_clients)));
        md.push_str(&self.pair_stops.row(&format!("stop in pairs ({} clients)", self.pair_clients)));
        let (through, direct) = (mib_per_s(self.through_preview), mib_per_s(self.direct));
        let _ = writeln!(
            md,
            "\n{} MiB download: {through:.0} MiB/s through the preview proxy, {direct:.0} MiB/s straight from the app on \
             loopback (ratio {:.2}).",
            self.download_mib,
            through / direct.max(1e-9)
        );
        let _ = writeln!(
            md,
            "Start + stop pairs: {} in {:.1} s ({:.1} pairs/s).",
            self.pairs,
            self.pair_elapsed.as_secs_f64(),
            self.pairs as f64 / self.pair_elapsed.as_secs_f64().max(1e-9)
        );
        let _ = write!(
            md,
            "Memory: server RSS {:.1} MiB (peak {:.1} MiB)",
            mib(self.server_memory.rss_kib),
            mib(self.server_memory.peak_kib)
        );
        match self.session_memory {
            Some((agent, all)) => {
                let _ =
                    writeln!(md, "; one session's agent {:.1} MiB, all its processes {:.1} MiB.", mib(agent), mib(all));
            }
            None => md.push_str("; the session's processes could not be read.\n"),
        }
        md
    }
}
