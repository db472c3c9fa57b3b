//! The bubblewrap sandbox, exercised for real: a shell started with the driver's own `bwrap`
//! arguments tries to reach what a session must not (host folders, the data directory, another
//! session, the host's `/tmp`, the network) and to use what it must (its workspace, its `run/`).

use burstflare_adapters_local_runtime::sandbox::{bwrap_args, bwrap_works, SandboxMounts};
use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

/// Runs `script` with bash in a session's sandbox and returns its `name=value` lines.
fn run_in_sandbox(data: &Path, session: &str, script: &str) -> BTreeMap<String, String> {
    assert!(bwrap_works(), "bwrap must work here (./scripts/test installs Debian's bubblewrap)");
    let root = data.join("sessions").join(session);
    let mounts = SandboxMounts { workspace: root.join("workspace"), run: root.join("run"), agent: "/bin/bash".into() };
    for dir in [&mounts.workspace, &mounts.run] {
        fs::create_dir_all(dir).unwrap();
    }
    let out = Command::new("bwrap")
        .args(bwrap_args(&mounts, None))
        .args(["/bin/bash", "-c", script])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sandboxed script failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A check that prints `name=yes` when `test` succeeds inside the sandbox, else `name=no`.
fn check(name: &str, test: &str) -> String {
    format!("if {test} 2>/dev/null; then echo {name}=yes; else echo {name}=no; fi\n")
}

#[test]
fn nothing_outside_the_session_folder_is_writable_or_visible() {
    let data = tempfile::tempdir().unwrap();
    let other = data.path().join("sessions/other/workspace");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("private.txt"), "other session").unwrap();
    let marker = std::env::temp_dir().join(format!("burstflare-host-marker-{}", std::process::id()));
    fs::write(&marker, "host tmp").unwrap();
    let data_dir = data.path().display().to_string();
    let mut script = String::new();
    for (name, path) in [
        ("etc", "/etc/burstflare-escape"),
        ("usr", "/usr/burstflare-escape"),
        ("data", &format!("{data_dir}/escape")),
        ("other", &format!("{}/escape", other.display())),
    ] {
        script += &check(&format!("write_{name}"), &format!("touch {path}"));
    }
    script += &check("see_data", &format!("test -e {data_dir}"));
    script += &check("see_other", &format!("test -e {}/private.txt", other.display()));
    script += &check("see_marker", &format!("test -e {}", marker.display()));
    script += &check("see_home", "test -e /root || test -e /home");
    script += &check("read_shadow", "test -s /etc/shadow");
    script += &check("write_workspace", "touch /workspace/mine");
    script += &check("write_run", "touch /run/burstflare/mine");
    script += &check("write_tmp", "touch /tmp/scratch");
    script += "echo cwd=$(pwd)\necho pid=$$\n";
    let seen = run_in_sandbox(data.path(), "s1", &script);
    let _ = fs::remove_file(&marker);
    for denied in
        ["write_etc", "write_usr", "write_data", "write_other", "see_data", "see_other", "see_marker", "see_home"]
    {
        assert_eq!(seen.get(denied).map(String::as_str), Some("no"), "{denied}: {seen:?}");
    }
    assert_eq!(seen["read_shadow"], "no", "{seen:?}");
    for allowed in ["write_workspace", "write_run", "write_tmp"] {
        assert_eq!(seen[allowed], "yes", "{allowed}: {seen:?}");
    }
    assert_eq!(seen["cwd"], "/workspace");
    assert_ne!(seen["pid"], std::process::id().to_string());
    // What the sandbox wrote is where it belongs, and nothing escaped.
    assert!(data.path().join("sessions/s1/workspace/mine").is_file());
    assert!(data.path().join("sessions/s1/run/mine").is_file());
    assert!(!Path::new("/etc/burstflare-escape").exists() && !Path::new("/usr/burstflare-escape").exists());
    assert!(!data.path().join("escape").exists() && !other.join("escape").exists());
}

#[test]
fn the_network_is_only_the_sessions_own_loopback() {
    let data = tempfile::tempdir().unwrap();
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let mut script = String::new();
    script += "echo interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,)\n";
    script += &check("reach_host_loopback", &format!("timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/{port}'"));
    script += &check("reach_outside", "timeout 3 bash -c 'echo > /dev/tcp/1.1.1.1/80'");
    // The session's own loopback works: a listener inside is reachable inside.
    script += &check(
        "own_loopback",
        "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); \
         c=socket.create_connection(s.getsockname()); print(end=\"\")'",
    );
    let seen = run_in_sandbox(data.path(), "s1", &script);
    assert_eq!(seen["interfaces"], "lo,", "{seen:?}");
    assert_eq!(seen["reach_host_loopback"], "no", "{seen:?}");
    assert_eq!(seen["reach_outside"], "no", "{seen:?}");
    assert_eq!(seen["own_loopback"], "yes", "{seen:?}");
}
