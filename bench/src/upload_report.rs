//! The upload benchmark's result as markdown: the large upload (memory, upload and build time), the
//! build throughput of many tiny bundles, and whether the memory budget holds. A report, not a test.

use crate::bundles::{instant, seconds};
use crate::report::{load_average, Machine};
use crate::server::Memory;
use crate::upload::{growth, mib};
use anyhow::Context;
use burstflare_api::BuildDto;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;
use std::time::Duration;

/// The server's peak resident growth while it takes a 32 MiB upload and builds it, in MiB.
const MAX_UPLOAD_GROWTH_MIB: f64 = 16.0;

/// One large bundle, uploaded directly and built.
#[derive(Debug, Clone)]
pub struct Large {
    /// The tar.gz's size.
    pub bytes: u64,
    /// From sending the request to its answer.
    pub upload: Duration,
    /// From sending the upload to seeing the build done (polled every 100 ms).
    pub seen_done: Duration,
    /// Whether VmHWM could be reset before the upload.
    pub reset: bool,
    pub before: Memory,
    pub after_upload: Memory,
    pub after_build: Memory,
    pub build: BuildDto,
}

/// Many tiny bundles through grants, and their builds.
#[derive(Debug, Clone)]
pub struct Small {
    pub versions: usize,
    pub succeeded: usize,
    pub first_failure: Option<String>,
    pub upload_phase: Duration,
    /// From the first upload to the last build's `finishedAt`, in seconds.
    pub span: f64,
    /// From the first build's `startedAt` to the last one's `finishedAt`, in seconds.
    pub building: f64,
    /// `finishedAt - startedAt` of each build, in ms: mean and max.
    pub build_ms: (f64, f64),
    /// From an upload's answer to its build's `finishedAt`, in ms: mean and max.
    pub latency_ms: (f64, f64),
}

impl Small {
    pub fn from_builds(
        first_upload: DateTime<Utc>,
        upload_phase: Duration,
        builds: &[BuildDto],
        answered: impl Fn(&str) -> Option<DateTime<Utc>>,
    ) -> anyhow::Result<Small> {
        let mut last = first_upload;
        let mut first_started: Option<DateTime<Utc>> = None;
        let (mut build_ms, mut latency_ms) = (Vec::new(), Vec::new());
        let mut first_failure = None;
        for b in builds {
            if b.status != "succeeded" {
                first_failure
                    .get_or_insert_with(|| format!("{}: {}", b.status, b.last_error.clone().unwrap_or_default()));
                continue;
            }
            let finished = instant(b.finished_at.as_deref().context("a succeeded build without finishedAt")?)?;
            let started = instant(b.started_at.as_deref().context("a succeeded build without startedAt")?)?;
            last = last.max(finished);
            first_started = Some(first_started.map_or(started, |f| f.min(started)));
            build_ms.push(seconds(started, finished) * 1000.0);
            if let Some(at) = answered(&b.id) {
                latency_ms.push(seconds(at, finished) * 1000.0);
            }
        }
        Ok(Small {
            versions: builds.len(),
            succeeded: build_ms.len(),
            first_failure,
            upload_phase,
            span: seconds(first_upload, last),
            building: seconds(first_started.unwrap_or(last), last),
            build_ms: mean_max(&build_ms),
            latency_ms: mean_max(&latency_ms),
        })
    }
    pub fn builds_per_sec(&self) -> f64 {
        self.succeeded as f64 / self.span.max(f64::EPSILON)
    }
}

fn mean_max(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    (mean, values.iter().copied().fold(0.0, f64::max))
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    pub large: Large,
    pub small: Small,
    /// The server at the end of the run.
    pub memory: Memory,
}

impl Report {
    pub fn markdown(&self) -> String {
        let (m, l, s) = (&self.machine, &self.large, &self.small);
        let mut md = String::new();
        let _ = writeln!(md, "# BurstFlare uploads and builds (native server)\n");
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

        let build_secs = match (l.build.started_at.as_deref(), l.build.finished_at.as_deref()) {
            (Some(a), Some(b)) => Some(seconds(instant(a).unwrap_or_default(), instant(b).unwrap_or_default())),
            _ => None,
        };
        let growth_kib = growth(l.before, &[l.after_upload, l.after_build]);
        let _ = writeln!(md, "## One large bundle, uploaded directly\n");
        let _ = writeln!(md, "| | value |\n|---|---:|");
        let _ = writeln!(md, "| tar.gz size | {} bytes ({:.2} MiB) |", l.bytes, l.bytes as f64 / 1048576.0);
        let _ = writeln!(md, "| upload (PUT to answer) | {:.3} s |", l.upload.as_secs_f64());
        let _ = writeln!(md, "| build status | {} (attempts: {}) |", l.build.status, l.build.attempts);
        let build = build_secs.map_or_else(|| "–".to_string(), |s| format!("{s:.3} s"));
        let _ = writeln!(md, "| build time (`startedAt` → `finishedAt`) | {build} |");
        let _ = writeln!(md, "| PUT sent → build seen done | {:.3} s |", l.seen_done.as_secs_f64());
        let _ = writeln!(
            md,
            "| VmRSS / VmHWM before the upload | {:.1} / {:.1} MiB |",
            mib(l.before.rss_kib),
            mib(l.before.peak_kib)
        );
        let _ = writeln!(md, "| VmHWM after the upload | {:.1} MiB |", mib(l.after_upload.peak_kib));
        let _ = writeln!(md, "| VmHWM after the build | {:.1} MiB |", mib(l.after_build.peak_kib));
        let _ = writeln!(md, "| VmRSS after the build | {:.1} MiB |", mib(l.after_build.rss_kib));
        let _ = writeln!(md, "| **peak RSS increase** | **{:.1} MiB** |", mib(growth_kib));
        if !l.reset {
            let _ = writeln!(
                md,
                "\nVmHWM could not be reset (`/proc/PID/clear_refs`): the baseline is the peak so far \
                 (the owner's argon2 registration), so the increase is a lower bound."
            );
        }

        let _ = writeln!(md, "\n## {} versions with tiny bundles, uploaded through grants\n", s.versions);
        let _ = writeln!(md, "| | value |\n|---|---:|");
        let _ = writeln!(md, "| builds succeeded | {} of {} |", s.succeeded, s.versions);
        let _ = writeln!(
            md,
            "| upload phase | {:.2} s ({:.0} uploads/s) |",
            s.upload_phase.as_secs_f64(),
            s.versions as f64 / s.upload_phase.as_secs_f64().max(f64::EPSILON)
        );
        let _ = writeln!(md, "| first upload → last `finishedAt` | {:.2} s |", s.span);
        let _ = writeln!(md, "| **builds/s** (succeeded ÷ that) | **{:.1}** |", s.builds_per_sec());
        let _ = writeln!(
            md,
            "| first `startedAt` → last `finishedAt` | {:.2} s ({:.1} builds/s) |",
            s.building,
            s.succeeded as f64 / s.building.max(f64::EPSILON)
        );
        let _ = writeln!(md, "| build time, mean / max | {:.1} / {:.1} ms |", s.build_ms.0, s.build_ms.1);
        let _ = writeln!(
            md,
            "| upload answered → build finished, mean / max | {:.0} / {:.0} ms |",
            s.latency_ms.0, s.latency_ms.1
        );
        if let Some(failure) = &s.first_failure {
            let _ = writeln!(md, "\nFirst build that did not succeed: `{failure}`");
        }
        let _ = writeln!(
            md,
            "\nServer at the end: VmRSS {:.1} MiB, VmHWM {:.1} MiB (since the reset before the large upload).\n",
            mib(self.memory.rss_kib),
            mib(self.memory.peak_kib)
        );
        let growth_mib = mib(growth_kib);
        let holds = if growth_mib < MAX_UPLOAD_GROWTH_MIB { "yes" } else { "**no**" };
        let _ = writeln!(md, "| target | measured | holds |\n|---|---|---|");
        let _ = writeln!(
            md,
            "| peak RSS increase for a 32 MiB upload and its build < 16 MiB | {growth_mib:.1} MiB | {holds} |"
        );
        md
    }
}
