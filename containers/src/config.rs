//! What the agent is started with, as JSON: natively the local driver writes it to the agent's
//! standard input; in a container it arrives in the `BURSTFLARE_AGENT_CONFIG` environment
//! variable. It holds the agent's secret and the SSH host key seed, so `Debug` hides both.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// How long the preview app has, by default, to send its response headers.
pub const DEFAULT_PREVIEW_TIMEOUT_MS: u64 = 30_000;

/// The environment variable that may carry the configuration.
pub const CONFIG_ENV: &str = "BURSTFLARE_AGENT_CONFIG";

/// Where the agent listens for the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Listen {
    /// A unix socket (natively: in a folder only the server can open).
    Unix(PathBuf),
    /// A TCP address (in a container, reached only through the session's Durable Object).
    Tcp(SocketAddr),
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentConfig {
    pub session_id: String,
    pub listen: Listen,
    /// The edge sends it in the `x-burstflare-agent-secret` header of every request.
    pub secret: String,
    /// The session's workspace (`/workspace` inside a sandbox or container): the command's and
    /// the shells' working directory and `HOME`.
    pub workspace: PathBuf,
    /// The agent's own files: the command's log and the marker that the bundle was unpacked.
    pub state_dir: PathBuf,
    /// The template's bundle (`.tar.gz`), unpacked into the workspace on the first start.
    #[serde(default)]
    pub bundle: Option<PathBuf>,
    /// The bundle is not on disk at start: the edge uploads it (`PUT /bundle`, stored at
    /// `bundle`) once the agent answers, and the command starts only after it is unpacked. A
    /// container's driver does this (the container has no access to the template store).
    #[serde(default)]
    pub bundle_upload: bool,
    /// The manifest's command, run in the workspace and restarted with backoff when it exits.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The manifest's environment, for the command, terminals and SSH sessions.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The port the command serves its preview on (on the session's loopback).
    #[serde(default)]
    pub preview_port: Option<u16>,
    /// How long the preview app may take to send its response headers before the agent answers
    /// `504 preview_timeout` (milliseconds).
    #[serde(default = "default_preview_timeout_ms")]
    pub preview_timeout_ms: u64,
    /// The session's SSH host key: a 32-byte Ed25519 seed, hex.
    pub ssh_host_key_seed: String,
    /// The shell for terminals and SSH; `None` picks `/bin/bash` when present, else `/bin/sh`.
    #[serde(default)]
    pub shell: Option<PathBuf>,
    /// The template's persisted paths, relative to `workspace` (`""` for all of it): what
    /// `GET /persist` archives and `PUT /persist` replaces.
    #[serde(default)]
    pub persisted_paths: Vec<String>,
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("session_id", &self.session_id)
            .field("listen", &self.listen)
            .field("secret", &"<redacted>")
            .field("workspace", &self.workspace)
            .field("state_dir", &self.state_dir)
            .field("bundle", &self.bundle)
            .field("bundle_upload", &self.bundle_upload)
            .field("command", &self.command)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("preview_port", &self.preview_port)
            .field("preview_timeout_ms", &self.preview_timeout_ms)
            .field("ssh_host_key_seed", &"<redacted>")
            .field("shell", &self.shell)
            .field("persisted_paths", &self.persisted_paths)
            .finish()
    }
}

fn default_preview_timeout_ms() -> u64 {
    DEFAULT_PREVIEW_TIMEOUT_MS
}

impl AgentConfig {
    /// The host key seed as bytes, or why it is not 32 hex-encoded bytes.
    pub fn host_key_seed(&self) -> Result<[u8; 32], String> {
        let bytes = decode_hex(&self.ssh_host_key_seed).ok_or("sshHostKeySeed is not hex")?;
        bytes.try_into().map_err(|_| "sshHostKeySeed is not 32 bytes".to_string())
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AgentConfig {
        AgentConfig {
            session_id: "s1".into(),
            listen: Listen::Unix("/run/burstflare/agent.sock".into()),
            secret: "top-secret".into(),
            workspace: "/workspace".into(),
            state_dir: "/run/burstflare".into(),
            bundle: None,
            bundle_upload: false,
            command: Some(vec!["python3".into(), "-m".into(), "http.server".into()]),
            env: BTreeMap::from([("TOKEN".into(), "value".into())]),
            preview_port: Some(8000),
            preview_timeout_ms: DEFAULT_PREVIEW_TIMEOUT_MS,
            ssh_host_key_seed: "ab".repeat(32),
            shell: None,
            persisted_paths: vec!["data".into()],
        }
    }

    #[test]
    fn it_round_trips_as_camel_case_json_and_debug_hides_the_secrets() {
        let json = serde_json::to_string(&config()).unwrap();
        assert!(json.contains("\"sshHostKeySeed\"") && json.contains("\"listen\":{\"unix\""));
        assert_eq!(serde_json::from_str::<AgentConfig>(&json).unwrap(), config());
        let debug = format!("{:?}", config());
        assert!(!debug.contains("top-secret") && !debug.contains("abab") && !debug.contains("value"));
    }

    #[test]
    fn the_seed_must_be_32_hex_bytes() {
        assert_eq!(config().host_key_seed().unwrap(), [0xab; 32]);
        for bad in ["ab", "zz".repeat(32).as_str(), "abc"] {
            let config = AgentConfig { ssh_host_key_seed: bad.into(), ..config() };
            assert!(config.host_key_seed().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_preview_timeout_defaults_to_thirty_seconds() {
        let mut json = serde_json::to_value(config()).unwrap();
        json.as_object_mut().unwrap().remove("previewTimeoutMs");
        assert_eq!(serde_json::from_value::<AgentConfig>(json).unwrap().preview_timeout_ms, 30_000);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(config()).unwrap();
        json["surprise"] = true.into();
        assert!(serde_json::from_value::<AgentConfig>(json).is_err());
    }
}
