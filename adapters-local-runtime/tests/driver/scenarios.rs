//! The scenarios, each run in the sandbox and plain where both matter. Every scenario stops what
//! it starts, and then a fresh driver adopts and stops anything left (so a failed assertion
//! leaves no agent behind).

use crate::support::{agent_get, descendants, running, World};
use burstflare_adapters_local_runtime::{LocalRuntime, LocalRuntimeConfig, SandboxMode};
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{AgentAddress, RuntimeDriver, RuntimeStatus};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::fs;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One scenario, given its world (the harness cleans the world up whatever the outcome).
pub type Test = fn(Arc<World>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

const BWRAP: SandboxMode = SandboxMode::Bwrap;
const PLAIN: SandboxMode = SandboxMode::Plain;

pub static ALL: &[(&str, SandboxMode, Test)] = &[
    ("start_status_endpoint_logs_stop_sandboxed", BWRAP, |w| Box::pin(lifecycle(w))),
    ("start_status_endpoint_logs_stop_plain", PLAIN, |w| Box::pin(lifecycle(w))),
    ("failed_starts_leave_no_process_sandboxed", BWRAP, |w| Box::pin(failed_starts(w))),
    ("failed_starts_leave_no_process_plain", PLAIN, |w| Box::pin(failed_starts(w))),
    ("a_new_driver_adopts_running_agents_sandboxed", BWRAP, |w| Box::pin(adoption(w))),
    ("a_new_driver_adopts_running_agents_plain", PLAIN, |w| Box::pin(adoption(w))),
    ("a_rewritten_record_is_not_trusted_sandboxed", BWRAP, |w| Box::pin(tampered_record(w))),
    ("a_rewritten_record_is_not_trusted_plain", PLAIN, |w| Box::pin(tampered_record(w))),
    ("planted_symlinks_are_not_followed", BWRAP, |w| Box::pin(planted_symlinks(w))),
    ("a_data_directory_longer_than_a_socket_path_works", PLAIN, |w| Box::pin(long_data_dir(w))),
    ("a_data_directory_longer_than_a_socket_path_works_sandboxed", BWRAP, |w| Box::pin(long_data_dir(w))),
];

/// A command that logs a line with the manifest's environment and keeps running; its `$0` is
/// the test's token, so it shows up in the process scan.
fn command(world: &World) -> Vec<String> {
    let script = "echo \"$GREETING from the command\"; while :; do sleep 1; done";
    vec!["/bin/sh".into(), "-c".into(), script.into(), world.token.clone()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn recorded_pids(world: &World, id: &str) -> Vec<i64> {
    let record = world.record(id).expect("agent.json");
    ["process", "init"].iter().filter_map(|k| record[*k]["pid"].as_i64()).collect()
}

async fn wait_for_log(runtime: &LocalRuntime, session: &SessionId, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = runtime.logs(session, 64 * 1024).await.unwrap();
        if logs.contains(needle) || Instant::now() > deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn lifecycle(world: Arc<World>) {
    let world = &*world;
    let runtime = world.runtime();
    assert_eq!(runtime.sandboxed(), world.mode == SandboxMode::Bwrap);
    world.put_bundle("bundles/v1", &[("hello.txt", "from the bundle")]).await;
    let (id, session) = ("ses_life", SessionId::from_raw("ses_life"));
    let cmd = command(world);
    let spec = world.spec(id, Some(&strs(&cmd)), Some("bundles/v1"));
    runtime.start(&spec).await.unwrap();
    assert_eq!(runtime.status(&session).await.unwrap(), RuntimeStatus::Running { last_activity: None });

    let endpoint = runtime.endpoint(&session).expect("an endpoint while running");
    let AgentAddress::Unix(socket) = &endpoint.address else { panic!("{:?}", endpoint.address) };
    assert_eq!(*socket, world.session_dir(id).join("run/agent.sock").display().to_string());
    let (status, body) = agent_get(socket, &endpoint.secret, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(id), "{body}");
    assert_eq!(agent_get(socket, "not-the-secret", "/health").await.0, 401);
    assert!(!format!("{endpoint:?}").contains(&endpoint.secret));

    let workspace = world.session_dir(id).join("workspace");
    assert_eq!(fs::read_to_string(workspace.join("hello.txt")).unwrap(), "from the bundle");
    let logs = wait_for_log(&runtime, &session, "hello-from-env from the command").await;
    assert!(logs.contains("hello-from-env from the command"), "{logs}");

    let record = world.record(id).unwrap();
    assert_eq!(record["sandboxed"], runtime.sandboxed());
    let pids = recorded_pids(world, id);
    assert_eq!(pids.len(), if runtime.sandboxed() { 2 } else { 1 });
    assert!(pids.iter().all(|p| running(*p)));
    assert!(!world.processes_left().is_empty());
    // The record and the agent's own log are host-only: not in what the session sees.
    for dir in ["run", "workspace"] {
        let names: Vec<_> =
            fs::read_dir(world.session_dir(id).join(dir)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(!names.iter().any(|n| n == "agent.json" || n == "agent.log"), "{dir}: {names:?}");
    }

    runtime.stop(&session).await.unwrap();
    assert_eq!(runtime.status(&session).await.unwrap(), RuntimeStatus::Stopped);
    assert!(runtime.endpoint(&session).is_none());
    assert!(world.record(id).is_none());
    assert!(pids.iter().all(|p| !running(*p)), "{pids:?}");
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
    assert!(runtime.logs(&session, 64 * 1024).await.unwrap().contains("hello-from-env"), "logs survive a stop");
    runtime.stop(&session).await.unwrap();

    // A second start keeps the user's files (the bundle is unpacked once) and gets a new secret.
    fs::write(workspace.join("hello.txt"), "edited").unwrap();
    runtime.start(&spec).await.unwrap();
    assert_eq!(fs::read_to_string(workspace.join("hello.txt")).unwrap(), "edited");
    let again = runtime.endpoint(&session).unwrap();
    assert_ne!(again.secret, endpoint.secret);
    assert_eq!(agent_get(socket, &endpoint.secret, "/health").await.0, 401, "the old secret opens nothing");
    runtime.start(&spec).await.unwrap();
    assert_eq!(runtime.endpoint(&session).unwrap().secret, again.secret, "starting a running session keeps it");
    runtime.stop(&session).await.unwrap();
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
}

fn other(err: PortError) -> String {
    match err {
        PortError::Other(reason) => reason,
        e => panic!("expected Other, got {e:?}"),
    }
}

async fn failed_starts(world: Arc<World>) {
    let session = SessionId::from_raw("ses_fail");
    let missing = ["/nonexistent/command".to_string(), world.token.clone()];
    let runtime = world.runtime();
    let reason = other(runtime.start(&world.spec("ses_fail", Some(&strs(&missing)), None)).await.unwrap_err());
    assert!(reason.contains("/nonexistent/command") && reason.contains("not found"), "{reason}");
    assert_eq!(runtime.status(&session).await.unwrap(), RuntimeStatus::Stopped);
    assert!(world.record("ses_fail").is_none() && runtime.endpoint(&session).is_none());
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());

    let crashing = world.runtime_as("crash", Duration::from_secs(10));
    let reason = other(crashing.start(&world.spec("ses_fail", None, None)).await.unwrap_err());
    assert!(reason.contains("boom"), "{reason}");
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());

    let hanging = world.runtime_as("hang", Duration::from_millis(1500));
    let started = Instant::now();
    let reason = other(hanging.start(&world.spec("ses_fail", None, None)).await.unwrap_err());
    assert!(reason.contains("not healthy within 1.5s"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
    assert!(world.record("ses_fail").is_none());

    let missing_bundle = world.spec("ses_fail", None, Some("bundles/missing"));
    let reason = other(runtime.start(&missing_bundle).await.unwrap_err());
    assert!(reason.contains("bundle"), "{reason}");
    assert!(other(runtime.start(&world.spec("../escape", None, None)).await.unwrap_err()).contains("not a safe"));
}

async fn adoption(world: Arc<World>) {
    let cmd = command(&world);
    let (id, session) = ("ses_adopt", SessionId::from_raw("ses_adopt"));
    let first = world.runtime();
    first.start(&world.spec(id, Some(&strs(&cmd)), None)).await.unwrap();
    let endpoint = first.endpoint(&session).unwrap();
    let pids = recorded_pids(&world, id);
    drop(first);

    let second = world.runtime();
    assert!(matches!(second.status(&session).await.unwrap(), RuntimeStatus::Running { .. }));
    assert_eq!(second.endpoint(&session), Some(endpoint.clone()));
    let AgentAddress::Unix(socket) = &endpoint.address else { unreachable!() };
    assert_eq!(agent_get(socket, &endpoint.secret, "/health").await.0, 200);
    second.stop(&session).await.unwrap();
    assert!(pids.iter().all(|p| !running(*p)), "{pids:?}");
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());

    // An agent that died while no driver watched is cleaned up by the next one. (Its command
    // goes with it: in the sandbox the PID namespace ends; plain, the test kills it too, since a
    // plain agent killed outright leaves its command's process group behind.)
    second.start(&world.spec(id, Some(&strs(&cmd)), None)).await.unwrap();
    let mut pids = recorded_pids(&world, id);
    pids.extend(descendants(pids[0] as i32).into_iter().map(i64::from));
    drop(second);
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
    }
    let _ = killpg(Pid::from_raw(pids[0] as i32), Signal::SIGKILL);
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
    // A killed process is still listed until it is fully torn down.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|p| running(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let third = world.runtime();
    assert!(world.record(id).is_none());
    assert_eq!(third.status(&session).await.unwrap(), RuntimeStatus::Stopped);
    assert!(third.endpoint(&session).is_none());
}

/// Kills the given processes, their groups and their descendants when dropped (a scenario's own
/// agent, by pid), and the decoy child.
struct KillOnDrop(Vec<i32>, Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut all = self.0.clone();
        all.extend(self.0.iter().flat_map(|pid| descendants(*pid)));
        for pid in &all {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            let _ = killpg(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        if let Some(child) = &mut self.1 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn tampered_record(world: Arc<World>) {
    let cmd = command(&world);
    let (id, session) = ("ses_forged", SessionId::from_raw("ses_forged"));
    let first = world.runtime();
    first.start(&world.spec(id, Some(&strs(&cmd)), None)).await.unwrap();
    let pids = recorded_pids(&world, id);
    drop(first);
    let decoy = std::process::Command::new("sleep").arg("600").spawn().unwrap();
    let decoy_pid = decoy.id() as i32;
    let mut guard = KillOnDrop(pids.iter().map(|p| *p as i32).collect(), Some(decoy));
    let original = world.record(id).unwrap();
    let decoy_start: i64 = {
        let stat = fs::read_to_string(format!("/proc/{decoy_pid}/stat")).unwrap();
        stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().parse().unwrap()
    };
    // The decoy's pid with the agent's start time (a reused pid looks like this), then with its
    // own true start time too (only the executable still differs).
    for start in [None, Some(decoy_start)] {
        let mut record = original.clone();
        for key in ["process", "init"] {
            if record[key].is_object() {
                record[key]["pid"] = decoy_pid.into();
                if let Some(start) = start {
                    record[key]["start"] = start.into();
                }
            }
        }
        fs::write(world.session_dir(id).join("agent.json"), record.to_string()).unwrap();
        let second = world.runtime();
        assert_eq!(second.status(&session).await.unwrap(), RuntimeStatus::Stopped);
        assert!(second.endpoint(&session).is_none());
        second.stop(&session).await.unwrap();
        second.shutdown_all().await;
        assert!(guard.1.as_mut().unwrap().try_wait().unwrap().is_none(), "the decoy must not be signalled");
        assert!(running(decoy_pid as i64));
    }
    drop(guard);
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
}

async fn planted_symlinks(world: Arc<World>) {
    let (id, session) = ("ses_links", SessionId::from_raw("ses_links"));
    let runtime = world.runtime();
    world.put_bundle("bundles/v1", &[("hello.txt", "from the bundle")]).await;
    let spec = world.spec(id, None, Some("bundles/v1"));
    runtime.start(&spec).await.unwrap();
    runtime.stop(&session).await.unwrap();
    // What a session could leave in its `run/` folder for the host to trip over.
    let run = world.session_dir(id).join("run");
    let victim = world.dir.path().join("victim.txt");
    fs::write(&victim, "host secret").unwrap();
    for name in ["bundle-unpacked", "bundle.tar.gz", "command.log", "command.log.1"] {
        let _ = fs::remove_file(run.join(name));
    }
    for name in ["bundle.tar.gz", "command.log", "command.log.1"] {
        std::os::unix::fs::symlink(&victim, run.join(name)).unwrap();
    }
    assert!(!runtime.logs(&session, 1024).await.unwrap().contains("host secret"));
    runtime.start(&spec).await.unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "host secret");
    assert!(fs::symlink_metadata(run.join("bundle.tar.gz")).unwrap().is_file());
    runtime.stop(&session).await.unwrap();
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
}

async fn long_data_dir(world: Arc<World>) {
    // The socket's host path is far past the kernel's 108 bytes.
    let deep = world.dir.path().join("d".repeat(120)).join("sessions");
    let runtime =
        LocalRuntime::new(LocalRuntimeConfig { sessions_dir: deep, ..world.config("agent", Duration::from_secs(5)) })
            .unwrap();
    let session = SessionId::from_raw("ses_long");
    runtime.start(&world.spec("ses_long", None, None)).await.unwrap();
    assert!(matches!(runtime.status(&session).await.unwrap(), RuntimeStatus::Running { .. }));
    runtime.stop(&session).await.unwrap();
    assert_eq!(world.wait_no_processes().await, Vec::<i32>::new());
}
