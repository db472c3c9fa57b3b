//! The agent's processes as the driver knows them: what `agent.json` records (pids with their
//! start times, so a pid the kernel reused for something else is never signalled), whether they
//! are alive, and how they are killed.

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::fs;
use std::time::{Duration, Instant};

/// One process as recorded: its pid, its start time in clock ticks since boot (`/proc/<pid>/stat`
/// field 22) and its executable (`/proc/<pid>/exe`). A pid is only signalled while all three
/// still match, so neither a pid the kernel reused nor one written into the record by hand is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProcId {
    pub pid: i32,
    pub start: u64,
    pub exe: String,
}

impl ProcId {
    /// The identity of the live process `pid`, to record it.
    pub fn of(pid: i32) -> Option<Self> {
        let start = proc_stat(pid).filter(|s| !matches!(s.state, 'Z' | 'X'))?.start;
        Some(Self { pid, start, exe: exe_of(pid)? })
    }

    /// True while this very process runs (a zombie does not).
    pub fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|s| s.start == self.start && !matches!(s.state, 'Z' | 'X'))
            && exe_of(self.pid).is_some_and(|exe| exe == self.exe)
    }
}

/// The executable of `pid`, without the ` (deleted)` the kernel appends once the file was
/// replaced (as an upgrade of the server or of bubblewrap does).
fn exe_of(pid: i32) -> Option<String> {
    let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let exe = exe.to_str()?;
    Some(exe.strip_suffix(" (deleted)").unwrap_or(exe).to_string())
}

/// What `agent.json` holds about a running agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AgentRecord {
    /// The process the driver spawned (`bwrap`, or the agent itself in plain mode); it leads its
    /// own process group.
    pub process: ProcId,
    /// The sandbox's init process (PID 1 of its PID namespace, as this host numbers it).
    #[serde(default)]
    pub init: Option<ProcId>,
    /// The boot whose secret the agent holds.
    pub generation: String,
    pub sandboxed: bool,
}

/// A process's state letter, parent pid and start time from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub start: u64,
}

pub(crate) fn proc_stat(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a `/proc/<pid>/stat` line; the command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field N is at index N - 3.
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

impl AgentRecord {
    /// True while the spawned process (and, sandboxed, the sandbox's init) is alive.
    pub fn is_alive(&self) -> bool {
        self.process.alive() && self.init.as_ref().is_none_or(ProcId::alive)
    }

    /// True while any process of the agent is alive.
    pub fn any_alive(&self) -> bool {
        self.process.alive() || self.init.as_ref().is_some_and(ProcId::alive)
    }

    /// SIGKILLs what is still verifiably ours: the sandbox's init (which takes its whole PID
    /// namespace with it) and the spawned process's group; in plain mode also every descendant
    /// of the agent, since the user's shells and command lead process groups of their own.
    pub fn kill_all(&self) {
        if let Some(init) = self.init.as_ref().filter(|init| init.alive()) {
            let _ = kill(Pid::from_raw(init.pid), Signal::SIGKILL);
        }
        if self.process.alive() {
            let descendants = if self.sandboxed { Vec::new() } else { descendants(self.process.pid) };
            let _ = killpg(Pid::from_raw(self.process.pid), Signal::SIGKILL);
            for (pid, start) in descendants {
                if proc_stat(pid).is_some_and(|s| s.start == start) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
    }

    /// Waits until no process of the agent is alive, up to `limit`; true when none is.
    pub async fn wait_gone(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if !self.any_alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every live descendant of `root` with its start time, found by walking `/proc`.
pub(crate) fn descendants(root: i32) -> Vec<(i32, u64)> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let all: Vec<(i32, ProcStat)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, proc_stat(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut out = Vec::new();
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for (pid, stat) in &all {
            if stat.ppid == parent && !found.contains(pid) {
                found.push(*pid);
                out.push((*pid, stat.start));
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3";
        assert_eq!(parse_stat(line), Some(ProcStat { state: 'S', ppid: 17, start: 987654 }));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_process_is_alive_only_with_its_own_start_time_and_executable() {
        let me = ProcId::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        assert!(!ProcId { start: me.start + 1, ..me.clone() }.alive());
        assert!(!ProcId { exe: "/usr/bin/sleep".into(), ..me.clone() }.alive());
        assert!(ProcId::of(0).is_none() && ProcId::of(-1).is_none());
    }
}
