//! How the agent starts the processes a user runs (the template's command, terminals, SSH
//! sessions): which shell, which working directory and which environment.

use crate::config::AgentConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `PATH` when the manifest sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The shell for terminals and SSH: the configured one, else `/bin/bash` when present, else `/bin/sh`.
pub fn resolve_shell(config: &AgentConfig) -> PathBuf {
    if let Some(shell) = &config.shell {
        return shell.clone();
    }
    let bash = Path::new("/bin/bash");
    if bash.exists() {
        bash.to_path_buf()
    } else {
        PathBuf::from("/bin/sh")
    }
}

/// The environment of every process the agent starts for the user: the manifest's variables over
/// a small base (`HOME` is the workspace, `PATH` the usual one, `BURSTFLARE_SESSION_ID`), plus
/// `extra` (such as `TERM` for a terminal). Nothing of the agent's own environment leaks in: its
/// configuration (and so its secret) may have arrived there.
pub fn session_env(config: &AgentConfig, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("HOME".to_string(), config.workspace.display().to_string()),
        ("PATH".to_string(), DEFAULT_PATH.to_string()),
        ("BURSTFLARE_SESSION_ID".to_string(), config.session_id.clone()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ]);
    env.extend(config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Listen;

    fn config(shell: Option<&str>) -> AgentConfig {
        AgentConfig {
            session_id: "s1".into(),
            listen: Listen::Unix("/run/a.sock".into()),
            secret: "secret".into(),
            workspace: "/workspace".into(),
            state_dir: "/run/burstflare".into(),
            bundle: None,
            bundle_upload: false,
            command: None,
            env: BTreeMap::from([("PATH".into(), "/opt/bin".into()), ("APP".into(), "1".into())]),
            preview_port: None,
            preview_timeout_ms: crate::config::DEFAULT_PREVIEW_TIMEOUT_MS,
            ssh_host_key_seed: "00".repeat(32),
            shell: shell.map(PathBuf::from),
            persisted_paths: Vec::new(),
        }
    }

    #[test]
    fn the_configured_shell_wins_and_there_is_always_one() {
        assert_eq!(resolve_shell(&config(Some("/bin/zsh"))), PathBuf::from("/bin/zsh"));
        let picked = resolve_shell(&config(None));
        assert!(picked == Path::new("/bin/bash") || picked == Path::new("/bin/sh"));
    }

    #[test]
    fn the_manifest_overrides_the_base_and_extra_overrides_both() {
        let env = session_env(&config(None), &[("TERM", "xterm-256color"), ("APP", "2")]);
        assert_eq!(env["HOME"], "/workspace");
        assert_eq!(env["PATH"], "/opt/bin");
        assert_eq!(env["APP"], "2");
        assert_eq!(env["TERM"], "xterm-256color");
        assert_eq!(env["BURSTFLARE_SESSION_ID"], "s1");
        assert!(!env.values().any(|v| v == "secret"));
    }
}
