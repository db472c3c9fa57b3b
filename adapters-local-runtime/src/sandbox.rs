//! The bubblewrap sandbox a session's agent runs in, as `bwrap` arguments.
//!
//! What it gives: its own mount, PID, IPC, UTS and network namespaces (the network namespace has
//! only a loopback interface: a session reaches nothing outside itself, and nothing reaches it but
//! the edge through the agent's socket); no capabilities (`--cap-drop ALL`, which matters as the
//! server may run as root); a new terminal session (`--new-session`, so nothing inside can push
//! input to the server's terminal). The host's system folders (`/usr`, `/etc`, `/bin`, `/sbin`,
//! `/lib*`) are mounted read-only (with `/etc/shadow`, `/etc/gshadow` and `/etc/ssh` hidden), a
//! fresh `/proc`, `/dev` and `/tmp`, the session's `workspace/` read-write at `/workspace`, its
//! `run/` read-write at `/run/burstflare` and the agent's executable read-only at [`AGENT_PATH`].
//! Nothing else of the host is there: not the data directory, not other sessions, not `/home`
//! or `/root`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The `bwrap` executable looked for on `PATH`.
pub const BWRAP: &str = "bwrap";
/// Where the session's workspace is inside the sandbox.
pub const WORKSPACE: &str = "/workspace";
/// Where the session's `run/` folder is inside the sandbox.
pub const RUN_DIR: &str = "/run/burstflare";
/// Where the agent's executable is inside the sandbox.
pub const AGENT_PATH: &str = "/opt/burstflare/burstflare-agent";

/// Host folders the sandbox sees read-only (as symlinks when the host has them as symlinks, as
/// merged-`/usr` distributions do).
const SYSTEM_DIRS: &[&str] = &["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/// Files under those that hold host secrets, replaced by `/dev/null`.
const HIDDEN_FILES: &[&str] = &["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"];
/// Folders under those that hold host secrets, replaced by an empty read-only tmpfs.
const HIDDEN_DIRS: &[&str] = &["/etc/ssh"];

/// What one session's sandbox binds from the host.
#[derive(Debug, Clone)]
pub struct SandboxMounts {
    /// The session's `workspace/`, bound read-write at [`WORKSPACE`].
    pub workspace: PathBuf,
    /// The session's `run/`, bound read-write at [`RUN_DIR`].
    pub run: PathBuf,
    /// The agent's executable on the host, bound read-only at [`AGENT_PATH`].
    pub agent: PathBuf,
}

/// The `bwrap` arguments up to (and including) the `--` after which the program and its
/// arguments go. `info_fd` is the descriptor where `bwrap` writes the sandbox's init pid.
pub fn bwrap_args(mounts: &SandboxMounts, info_fd: Option<i32>) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |parts: &[&OsStr]| args.extend(parts.iter().map(|p| p.to_os_string()));
    push(&[
        "--unshare-ipc".as_ref(),
        "--unshare-pid".as_ref(),
        "--unshare-net".as_ref(),
        "--unshare-uts".as_ref(),
        "--unshare-cgroup-try".as_ref(),
        "--hostname".as_ref(),
        "burstflare".as_ref(),
        "--cap-drop".as_ref(),
        "ALL".as_ref(),
        "--new-session".as_ref(),
    ]);
    for dir in SYSTEM_DIRS {
        match fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = fs::read_link(dir) {
                    push(&["--symlink".as_ref(), target.as_os_str(), dir.as_ref()]);
                }
            }
            Ok(meta) if meta.is_dir() => push(&["--ro-bind".as_ref(), dir.as_ref(), dir.as_ref()]),
            _ => {}
        }
    }
    for file in HIDDEN_FILES.iter().filter(|f| Path::new(f).exists()) {
        push(&["--ro-bind".as_ref(), "/dev/null".as_ref(), file.as_ref()]);
    }
    for dir in HIDDEN_DIRS.iter().filter(|d| Path::new(d).is_dir()) {
        push(&["--tmpfs".as_ref(), dir.as_ref(), "--remount-ro".as_ref(), dir.as_ref()]);
    }
    push(&[
        "--proc".as_ref(),
        "/proc".as_ref(),
        "--dev".as_ref(),
        "/dev".as_ref(),
        "--tmpfs".as_ref(),
        "/tmp".as_ref(),
        "--bind".as_ref(),
        mounts.workspace.as_os_str(),
        WORKSPACE.as_ref(),
        "--bind".as_ref(),
        mounts.run.as_os_str(),
        RUN_DIR.as_ref(),
        "--ro-bind".as_ref(),
        mounts.agent.as_os_str(),
        AGENT_PATH.as_ref(),
        "--chdir".as_ref(),
        WORKSPACE.as_ref(),
    ]);
    if let Some(fd) = info_fd {
        args.push("--info-fd".into());
        args.push(fd.to_string().into());
    }
    args.push("--".into());
    args
}

/// True when `bwrap` runs a program with these namespaces on this host (it may be missing, or
/// the kernel may refuse unprivileged namespaces). Probed once per process.
pub fn bwrap_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(probe)
}

fn probe() -> bool {
    let Ok(exe) = std::env::current_exe() else { return false };
    let probe = tempfile_dir();
    let Some(dir) = probe else { return false };
    let mounts = SandboxMounts { workspace: dir.clone(), run: dir.clone(), agent: exe };
    let status = Command::new(BWRAP)
        .args(bwrap_args(&mounts, None))
        .arg("/bin/sh")
        .arg("-c")
        .arg("exit 0")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = fs::remove_dir(&dir);
    status.is_ok_and(|s| s.success())
}

/// An empty folder to bind in the probe.
fn tempfile_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("burstflare-bwrap-probe-{}", std::process::id()));
    fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts() -> SandboxMounts {
        SandboxMounts {
            workspace: "/data/sessions/s1/workspace".into(),
            run: "/data/sessions/s1/run".into(),
            agent: "/usr/bin/burstflare".into(),
        }
    }

    fn has(args: &[OsString], window: &[&str]) -> bool {
        args.windows(window.len()).any(|w| w.iter().zip(window).all(|(a, b)| a == b))
    }

    #[test]
    fn the_arguments_isolate_and_bind_only_the_session() {
        let args = bwrap_args(&mounts(), Some(3));
        for flag in ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--new-session"] {
            assert!(has(&args, &[flag]), "{flag}");
        }
        assert!(has(&args, &["--cap-drop", "ALL"]));
        assert!(has(&args, &["--bind", "/data/sessions/s1/workspace", "/workspace"]));
        assert!(has(&args, &["--bind", "/data/sessions/s1/run", "/run/burstflare"]));
        assert!(has(&args, &["--ro-bind", "/usr/bin/burstflare", AGENT_PATH]));
        assert!(has(&args, &["--ro-bind", "/usr", "/usr"]));
        assert!(has(&args, &["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]));
        assert!(has(&args, &["--chdir", "/workspace"]));
        assert!(has(&args, &["--info-fd", "3"]));
        assert!(!has(&args, &["--die-with-parent"]));
        assert!(!has(&args, &["--bind", "/", "/"]) && !has(&args, &["--ro-bind", "/", "/"]));
        assert_eq!(args.last().unwrap(), "--");
        // Every other bind is read-only.
        let rw: Vec<_> = args.iter().enumerate().filter(|(_, a)| *a == "--bind").map(|(i, _)| &args[i + 1]).collect();
        assert_eq!(rw, ["/data/sessions/s1/workspace", "/data/sessions/s1/run"]);
    }

    #[test]
    fn without_an_info_fd_none_is_asked_for() {
        assert!(!has(&bwrap_args(&mounts(), None), &["--info-fd"]));
    }
}
