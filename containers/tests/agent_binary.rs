//! The `burstflare-agent` binary as the drivers start it: the configuration from the environment
//! or from standard input, nothing of its environment passed to the command, and SIGTERM or
//! SIGINT stopping it cleanly.

mod common;

use burstflare_containers::config::AgentConfig;
use common::{alive, config, read_pid};
use rustix::process::{kill_process, Pid, Signal};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the agent process if a test fails before stopping it.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Agent {
    fn signal_and_wait(&mut self, signal: Signal) -> std::process::ExitStatus {
        kill_process(Pid::from_raw(self.0.id() as i32).unwrap(), signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the agent did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn with_command(dir: &std::path::Path) -> AgentConfig {
    let mut config = config(dir);
    let script = "env > env.txt; echo $$ > cmd.pid; exec sleep 1000";
    config.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    config
}

#[tokio::test]
async fn configured_by_the_environment_it_keeps_that_environment_to_itself_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = with_command(dir.path());
    let mut agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_burstflare-agent"))
            .env("BURSTFLARE_AGENT_CONFIG", serde_json::to_string(&config).unwrap())
            .env("HOST_ONLY_VARIABLE", "from-the-host")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let command = read_pid(&config.workspace.join("cmd.pid")).await;
    let env = std::fs::read_to_string(config.workspace.join("env.txt")).unwrap();
    assert!(!env.contains("BURSTFLARE_AGENT_CONFIG") && !env.contains(&config.secret), "{env}");
    assert!(!env.contains("HOST_ONLY_VARIABLE") && env.contains("GREETING=hello"), "{env}");
    assert!(env.contains("BURSTFLARE_SESSION_ID=ses_test"));

    let status = agent.signal_and_wait(Signal::TERM);
    assert!(status.success(), "{status:?}");
    assert!(!alive(command), "the command outlived the agent");
    let mut stderr = String::new();
    std::io::Read::read_to_string(agent.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("agent stopped") && !stderr.contains(&config.secret), "{stderr}");
}

#[tokio::test]
async fn configured_on_standard_input_it_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let config = with_command(dir.path());
    let mut agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_burstflare-agent"))
            .env_remove("BURSTFLARE_AGENT_CONFIG")
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdin = agent.0.stdin.take().unwrap();
    stdin.write_all(serde_json::to_string(&config).unwrap().as_bytes()).unwrap();
    drop(stdin);
    let command = read_pid(&config.workspace.join("cmd.pid")).await;
    let status = agent.signal_and_wait(Signal::INT);
    assert!(status.success(), "{status:?}");
    assert!(!alive(command), "the command outlived the agent");
}

#[test]
fn an_invalid_configuration_is_a_clear_start_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_burstflare-agent"))
        .env("BURSTFLARE_AGENT_CONFIG", r#"{"sessionId":"s","secret":"hunter2"}"#)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("burstflare-agent: the agent configuration is not valid"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
