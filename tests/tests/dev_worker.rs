//! `scripts/dev-worker` without a usable Docker engine: it stops at once with a message that
//! says what is wrong and what to do, and starts nothing. Each case runs the real script with a
//! `PATH` of its own: the few tools the script uses before its Docker check, plus stand-ins for
//! what the case is about (a `docker` CLI whose engine never answers, an `id` that says who
//! runs it). No engine, package manager or `sudo` is reached.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tools the script runs before and around its Docker check.
const TOOLS: &[&str] = &["bash", "env", "dirname", "mktemp", "rm", "timeout", "cat"];

/// A `PATH` folder with the script's tools and the given stand-ins (name, shell script body).
fn path_with(stand_ins: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for tool in TOOLS {
        let real = which(tool).unwrap_or_else(|| panic!("{tool} is on this machine"));
        symlink(real, dir.path().join(tool)).unwrap();
    }
    for (name, body) in stand_ins {
        let file = dir.path().join(name);
        std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn which(tool: &str) -> Option<PathBuf> {
    ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(tool))
        .find(|path| path.is_file())
}

/// A `docker` CLI whose engine never answers, as when the engine is stopped.
const NO_ENGINE: (&str, &str) =
    ("docker", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1");
const ROOT: (&str, &str) = ("id", "echo 0");
const NOT_ROOT: (&str, &str) = ("id", "echo 1000");

/// Runs the script with only `path` on `PATH` (and `DOCKER_HOST` when given); returns its exit
/// code and its standard error. It must be done in 20 s: a hang is a failure here.
fn dev_worker(path: &Path, docker_host: Option<&str>) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/dev-worker");
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(script);
    command.env_clear().env("PATH", path).env("HOME", home.path()).env("TMPDIR", home.path());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scripts/dev-worker hung instead of saying what is wrong");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "it removes its temporary folder: {leftovers:?}");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn without_docker_and_without_a_way_to_install_it_it_says_what_to_install() {
    let path = path_with(&[ROOT]);
    let (code, stderr) = dev_worker(path.path(), None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("docker.io is not installed"), "{stderr}");
    assert!(stderr.contains("apt-get install docker.io"), "{stderr}");
}

#[test]
fn with_the_engine_stopped_and_no_root_it_says_to_start_docker() {
    let path = path_with(&[NO_ENGINE, NOT_ROOT]);
    let (code, stderr) = dev_worker(path.path(), None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("unix:///var/run/docker.sock is not running"), "{stderr}");
    assert!(stderr.contains("start Docker"), "{stderr}");
}

#[test]
fn with_the_engine_stopped_as_root_but_no_dockerd_it_says_so() {
    let path = path_with(&[NO_ENGINE, ROOT]);
    let (code, stderr) = dev_worker(path.path(), None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("dockerd is not installed"), "{stderr}");
}

#[test]
fn an_engine_named_by_docker_host_that_does_not_answer_is_reported_never_started() {
    // As root and with a `dockerd` at hand, it still starts nothing for an engine it was pointed at.
    let path = path_with(&[NO_ENGINE, ROOT, ("dockerd", ": > \"$0.started\"")]);
    let host = "unix:///nonexistent/docker.sock";
    let (code, stderr) = dev_worker(path.path(), Some(host));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("no Docker engine answers at DOCKER_HOST={host}")), "{stderr}");
    assert!(!path.path().join("dockerd.started").exists(), "it started an engine");
}
