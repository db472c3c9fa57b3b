//! The login-storm benchmark's result as markdown: per round, the logins and their latency, the
//! server's peak resident memory during the storm and its resident memory after an idle pause,
//! and whether the memory budgets hold. A report, not a test.

use crate::report::{load_average, Machine};
use crate::server::Memory;
use crate::upload::mib;
use std::fmt::Write as _;
use std::time::Duration;

/// The server's peak resident memory during a login storm, in MiB.
const MAX_STORM_PEAK_MIB: f64 = 128.0;
/// The server's resident memory once the storm is over, in MiB.
const MAX_IDLE_RSS_MIB: f64 = 64.0;

/// One round of logins.
#[derive(Debug, Clone)]
pub struct Round {
    /// Whether VmHWM could be reset before the round.
    pub reset: bool,
    pub before: Memory,
    pub after_storm: Memory,
    /// After `idle_secs` without requests.
    pub idle: Memory,
    pub idle_secs: u64,
    /// From the first login sent to the last answered.
    pub storm: Duration,
    pub succeeded: u32,
    pub refused: u32,
    pub unexpected: u32,
    pub first_unexpected: Option<String>,
    /// p50, p99 and max of the logins' latency.
    pub latency_ms: [f64; 3],
}

impl Round {
    fn logins(&self) -> u32 {
        self.succeeded + self.refused + self.unexpected
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    /// Just after the server was ready.
    pub started: Memory,
    /// After the storm's account was registered (one argon2id hash).
    pub registered: Memory,
    pub rounds: Vec<Round>,
    pub clients: u32,
}

impl Report {
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut md = String::new();
        let _ = writeln!(md, "# BurstFlare login storm (native server)\n");
        let _ = writeln!(
            md,
            "Machine: {} CPUs ({}), Linux {}; bench on CPUs {}, server pinned to {}.",
            m.cpus,
            m.cpu_model,
            m.kernel,
            m.client_cpus,
            m.pinned_to.as_deref().unwrap_or("nothing")
        );
        let _ = writeln!(md, "Load average before: {}, after: {}.\n", m.load_before, load_average());
        let _ = writeln!(
            md,
            "{} concurrent clients, one fresh connection per login. Server VmRSS {:.1} MiB when ready, \
             {:.1} MiB after registering the account (one argon2id hash).\n",
            self.clients,
            mib(self.started.rss_kib),
            mib(self.registered.rss_kib)
        );
        md.push_str(
            "| round | logins (ok / 401 / other) | logins/s | p50 / p99 / max ms | VmRSS before MiB | \
             VmHWM storm MiB | VmRSS after storm MiB | VmRSS idle MiB |\n",
        );
        md.push_str("|---:|---|---:|---|---:|---:|---:|---:|\n");
        for (i, r) in self.rounds.iter().enumerate() {
            let [p50, p99, max] = r.latency_ms;
            let _ = writeln!(
                md,
                "| {} | {} ({} / {} / {}) | {:.1} | {p50:.0} / {p99:.0} / {max:.0} | {:.1} | {:.1}{} | {:.1} | {:.1} |",
                i + 1,
                r.logins(),
                r.succeeded,
                r.refused,
                r.unexpected,
                f64::from(r.logins()) / r.storm.as_secs_f64().max(f64::EPSILON),
                mib(r.before.rss_kib),
                mib(r.after_storm.peak_kib),
                if r.reset { "" } else { " (since start)" },
                mib(r.after_storm.rss_kib),
                mib(r.idle.rss_kib),
            );
        }
        for (i, r) in self.rounds.iter().enumerate() {
            if let Some(first) = &r.first_unexpected {
                let _ = writeln!(
                    md,
                    "\nRound {}: first unexpected answer: `{}`",
                    i + 1,
                    first.chars().take(200).collect::<String>()
                );
            }
        }
        let idle_secs = self.rounds.first().map_or(0, |r| r.idle_secs);
        let peak = self.rounds.iter().map(|r| r.after_storm.peak_kib).max().unwrap_or(0);
        let idle = self.rounds.iter().map(|r| r.idle.rss_kib).max().unwrap_or(0);
        let unexpected: u32 = self.rounds.iter().map(|r| r.unexpected).sum();
        let yes = |holds: bool| if holds { "yes" } else { "**no**" };
        let _ = writeln!(md, "\n| target | measured | holds |\n|---|---|---|");
        let _ = writeln!(
            md,
            "| peak RSS (VmHWM) during a login storm < {MAX_STORM_PEAK_MIB} MiB | {:.1} MiB (highest round) | {} |",
            mib(peak),
            yes(mib(peak) < MAX_STORM_PEAK_MIB)
        );
        let _ = writeln!(
            md,
            "| RSS {idle_secs} s after a storm < {MAX_IDLE_RSS_MIB} MiB | {:.1} MiB (highest round) | {} |",
            mib(idle),
            yes(mib(idle) < MAX_IDLE_RSS_MIB)
        );
        let _ = writeln!(
            md,
            "| every login answered 200 or 401 as expected | {unexpected} others | {} |",
            yes(unexpected == 0)
        );
        md
    }
}
