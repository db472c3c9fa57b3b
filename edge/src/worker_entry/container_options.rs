//! What a session's container is started with, built in one pure function so it is tested on
//! every target: the agent's configuration (see `burstflare_containers::config::AgentConfig`) as
//! JSON in the `BURSTFLARE_AGENT_CONFIG` variable of a *plain* options object. The `worker`
//! crate's `ContainerStartupOptions` carries `env` as a JS `Map`, which workerd reads as an empty
//! object (the variables arrive empty), so the Containers driver hands this object to the raw
//! binding instead.

use burstflare_core::ports::RuntimeSpec;
use serde_json::{json, Value};

/// The TCP port the agent listens on inside the container (`get_tcp_port` reaches it).
pub const AGENT_PORT: u16 = 8080;
/// The session's workspace inside the container.
pub const WORKSPACE: &str = "/workspace";
/// The agent's own files inside the container (the command's log, the uploaded bundle).
pub const STATE_DIR: &str = "/var/lib/burstflare";
/// Where the agent stores the bundle the driver uploads (`PUT /bundle`).
pub const BUNDLE_PATH: &str = "/var/lib/burstflare/bundle.tar.gz";
/// The environment variable the agent reads its configuration from.
pub const CONFIG_ENV: &str = "BURSTFLARE_AGENT_CONFIG";

/// The agent's configuration for a boot of `spec` with its secret and SSH host key seed.
/// A session with a bundle gets it by upload (the container cannot read the template store).
pub fn agent_config(spec: &RuntimeSpec, secret: &str, host_key_seed: &[u8; 32]) -> Value {
    let manifest = &spec.manifest;
    let has_bundle = spec.bundle_key.is_some();
    json!({
        "sessionId": spec.session_id.as_str(),
        "listen": { "tcp": format!("0.0.0.0:{AGENT_PORT}") },
        "secret": secret,
        "workspace": WORKSPACE,
        "stateDir": STATE_DIR,
        "bundle": has_bundle.then_some(BUNDLE_PATH),
        "bundleUpload": has_bundle,
        "command": manifest.command,
        "env": manifest.env,
        "previewPort": manifest.preview_port,
        "persistedPaths": manifest.persisted_in_workspace(),
        "sshHostKeySeed": hex::encode(host_key_seed),
    })
}

/// The options object for `Container.start()`: the configuration in the agent's variable, and
/// no outbound Internet unless the platform grants it (the agent needs none).
pub fn start_options(agent_config: &Value) -> Value {
    json!({
        "env": { CONFIG_ENV: agent_config.to_string() },
        "enableInternet": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burstflare_core::ids::{SessionId, TemplateId, VersionId, WorkspaceId};
    use burstflare_core::manifest::Manifest;

    fn spec(bundle: bool) -> RuntimeSpec {
        let manifest: Manifest = serde_json::from_value(json!({
            "image": "burstflare-session", "command": ["httpd", "-f", "-p", "8000"],
            "previewPort": 8000, "env": { "GREETING": "hello" }, "persistedPaths": ["/workspace/data"]
        }))
        .unwrap();
        RuntimeSpec {
            session_id: SessionId::from_raw("ses_1"),
            workspace_id: WorkspaceId::from_raw("wsp_1"),
            template_id: TemplateId::from_raw("tpl_1"),
            version_id: VersionId::from_raw("ver_1"),
            manifest,
            bundle_key: bundle.then(|| "bundles/tpl_1/ver_1".to_string()),
        }
    }

    /// The object is plain JSON: `env` an object of strings, the agent's configuration one of them,
    /// and that configuration is what the agent itself accepts.
    #[test]
    fn the_options_carry_a_configuration_the_agent_accepts() {
        let config = agent_config(&spec(true), "s3cret", &[7; 32]);
        let options = start_options(&config);
        assert_eq!(options["enableInternet"], false);
        let env = options["env"].as_object().expect("env is a plain object");
        assert_eq!(env.len(), 1);
        let text = env[CONFIG_ENV].as_str().expect("a string variable");
        let parsed = burstflare_containers::agent::parse_config(text).expect("the agent accepts it");
        assert_eq!(parsed.session_id, "ses_1");
        assert_eq!(parsed.listen, burstflare_containers::config::Listen::Tcp("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(parsed.secret, "s3cret");
        assert_eq!(parsed.host_key_seed().unwrap(), [7; 32]);
        assert_eq!(parsed.workspace, std::path::Path::new(WORKSPACE));
        assert_eq!(parsed.bundle.as_deref(), Some(std::path::Path::new(BUNDLE_PATH)));
        assert!(parsed.bundle_upload);
        assert_eq!(parsed.command, Some(vec!["httpd".into(), "-f".into(), "-p".into(), "8000".into()]));
        assert_eq!(parsed.preview_port, Some(8000));
        assert_eq!(parsed.persisted_paths, ["data"], "relative to the workspace");
        assert_eq!(parsed.env.get("GREETING").map(String::as_str), Some("hello"));
    }

    #[test]
    fn without_a_bundle_nothing_is_awaited() {
        let config = agent_config(&spec(false), "s", &[1; 32]);
        let parsed = burstflare_containers::agent::parse_config(&config.to_string()).unwrap();
        assert_eq!((parsed.bundle, parsed.bundle_upload), (None, false));
    }
}
