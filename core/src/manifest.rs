//! Template manifests as a typed, validated value. Parsed from the JSON a client sends; every
//! refusal is a 400 `invalid_manifest` whose message names the field. Unknown fields are refused
//! too, so a typo never silently drops a setting. No string a session is started with (the
//! image, a command argument, an env value) may hold a control character (`char::is_control`:
//! NUL, tab, newline and the rest), since they reach argv, environment blocks and logs as they are.

use crate::error::{Code, Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Features a template can ask the session runtime for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    Ssh,
    Browser,
    Snapshots,
}

/// An absolute, normalised path inside the session (no `.`/`..`, no doubled or trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersistedPath(String);

impl PersistedPath {
    pub fn parse(raw: &str) -> std::result::Result<Self, &'static str> {
        if !raw.starts_with('/') {
            return Err("must be an absolute path");
        }
        if raw.len() > 256 || raw.chars().any(char::is_control) {
            return Err("must be at most 256 printable characters");
        }
        let mut parts = Vec::new();
        for part in raw.split('/').filter(|p| !p.is_empty()) {
            match part {
                "." | ".." => return Err("must not contain `.` or `..`"),
                p => parts.push(p),
            }
        }
        if parts.is_empty() {
            return Err("must not be `/` itself");
        }
        Ok(Self(format!("/{}", parts.join("/"))))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The path relative to the session's workspace (`/workspace`, where sessions may write):
    /// `""` for the workspace itself, `None` for a path outside it (which no runtime saves).
    pub fn in_workspace(&self) -> Option<&str> {
        match self.0.strip_prefix(WORKSPACE_ROOT)? {
            "" => Some(""),
            rest => rest.strip_prefix('/'),
        }
    }
}

/// Where a session's workspace is, as its processes see it.
pub const WORKSPACE_ROOT: &str = "/workspace";

/// What a template version runs: validated at add-version time and stored as given (normalised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub image: String,
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default)]
    pub persisted_paths: Vec<PersistedPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ttl_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<u32>,
    /// The session agent's start command, as argv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_port: Option<u16>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

pub const MAX_PERSISTED_PATHS: usize = 8;
pub const MAX_SLEEP_TTL_SECONDS: u64 = 7 * 24 * 3600;
const FIELDS: &[&str] =
    &["image", "features", "persistedPaths", "sleepTtlSeconds", "idleTimeoutSeconds", "command", "previewPort", "env"];

fn bad(field: &str, why: &str) -> Error {
    Error::new(Code::InvalidManifest, format!("manifest.{field}: {why}"))
}

fn seconds(obj: &Map<String, Value>, field: &str) -> Result<Option<u32>> {
    match obj.get(field) {
        None => Ok(None),
        Some(v) => {
            let n = v.as_u64().ok_or_else(|| bad(field, "must be a whole number of seconds"))?;
            if n == 0 || n > MAX_SLEEP_TTL_SECONDS {
                return Err(bad(field, "must be between 1 and 604800 (7 days)"));
            }
            Ok(Some(n as u32))
        }
    }
}

impl Manifest {
    /// Validates a manifest sent as JSON.
    pub fn parse(value: &Value) -> Result<Self> {
        let obj = value.as_object().ok_or_else(|| Error::new(Code::InvalidManifest, "manifest must be an object"))?;
        if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad(unknown, "unknown field"));
        }
        let image = match obj.get("image") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(bad("image", "is required (a non-empty string)")),
        };
        if image.len() > 256 || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("image", "must be at most 256 characters without spaces or control characters"));
        }
        let mut features = Vec::new();
        if let Some(v) = obj.get("features") {
            for (i, f) in v.as_array().ok_or_else(|| bad("features", "must be an array"))?.iter().enumerate() {
                let feature = serde_json::from_value::<Feature>(f.clone())
                    .map_err(|_| bad(&format!("features[{i}]"), "must be one of ssh, browser, snapshots"))?;
                if !features.contains(&feature) {
                    features.push(feature);
                }
            }
        }
        let mut persisted_paths = Vec::new();
        if let Some(v) = obj.get("persistedPaths") {
            let paths = v.as_array().ok_or_else(|| bad("persistedPaths", "must be an array"))?;
            if paths.len() > MAX_PERSISTED_PATHS {
                return Err(bad("persistedPaths", "must list at most 8 paths"));
            }
            for (i, p) in paths.iter().enumerate() {
                let field = format!("persistedPaths[{i}]");
                let raw = p.as_str().ok_or_else(|| bad(&field, "must be a string"))?;
                let path = PersistedPath::parse(raw).map_err(|why| bad(&field, why))?;
                if !persisted_paths.contains(&path) {
                    persisted_paths.push(path);
                }
            }
        }
        let command = match obj.get("command") {
            None => None,
            Some(v) => {
                let argv = v.as_array().ok_or_else(|| bad("command", "must be an array of strings (argv)"))?;
                if argv.is_empty() || argv.len() > 64 {
                    return Err(bad("command", "must have 1 to 64 arguments"));
                }
                let mut args = Vec::with_capacity(argv.len());
                for (i, arg) in argv.iter().enumerate() {
                    let arg = arg.as_str().ok_or_else(|| bad("command", "must be an array of strings (argv)"))?;
                    if arg.chars().any(char::is_control) {
                        return Err(bad(&format!("command[{i}]"), "must not contain control characters"));
                    }
                    args.push(arg.to_string());
                }
                Some(args)
            }
        };
        let preview_port = match obj.get("previewPort") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("previewPort", "must be a port between 1 and 65535"))?,
            ),
        };
        let mut env = BTreeMap::new();
        if let Some(v) = obj.get("env") {
            let vars = v.as_object().ok_or_else(|| bad("env", "must be an object of NAME: value"))?;
            if vars.len() > 64 {
                return Err(bad("env", "must have at most 64 variables"));
            }
            for (name, value) in vars {
                let valid = name.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                    && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && name.len() <= 128;
                if !valid {
                    return Err(bad(&format!("env.{name}"), "names must be UPPER_SNAKE_CASE"));
                }
                let value = value.as_str().ok_or_else(|| bad(&format!("env.{name}"), "must be a string"))?;
                if value.len() > 4096 {
                    return Err(bad(&format!("env.{name}"), "must be at most 4096 bytes"));
                }
                if value.chars().any(char::is_control) {
                    return Err(bad(&format!("env.{name}"), "must not contain control characters"));
                }
                env.insert(name.clone(), value.to_string());
            }
        }
        Ok(Self {
            image,
            features,
            persisted_paths,
            sleep_ttl_seconds: seconds(obj, "sleepTtlSeconds")?,
            idle_timeout_seconds: seconds(obj, "idleTimeoutSeconds")?,
            command,
            preview_port,
            env,
        })
    }

    /// The stored form (camelCase JSON).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        Manifest::parse(&v).unwrap_err().message
    }

    #[test]
    fn a_full_manifest_parses_and_normalises() {
        let m = Manifest::parse(&json!({
            "image": " node:22 ", "features": ["ssh", "browser", "ssh"], "persistedPaths": ["/work//src/", "/home/dev"],
            "sleepTtlSeconds": 3600, "idleTimeoutSeconds": 900, "command": ["npm", "run", "dev"], "previewPort": 3000,
            "env": { "NODE_ENV": "development" }
        }))
        .unwrap();
        assert_eq!(m.image, "node:22");
        assert_eq!(m.features, vec![Feature::Ssh, Feature::Browser]);
        assert_eq!(m.persisted_paths[0].as_str(), "/work/src");
        let inside = |raw: &str| PersistedPath::parse(raw).unwrap().in_workspace().map(str::to_string);
        assert_eq!(inside("/workspace/data/"), Some("data".into()));
        assert_eq!(inside("/workspace"), Some(String::new()));
        assert_eq!((inside("/workspaces/x"), inside("/home/dev")), (None, None));
        assert_eq!(Manifest::parse(&m.to_json()).unwrap(), m, "the stored form parses back to the same value");
    }

    #[test]
    fn every_refusal_names_its_field() {
        assert!(err(json!([])).contains("object"));
        assert!(err(json!({})).contains("manifest.image"));
        assert!(err(json!({ "image": "x", "features": ["gpu"] })).contains("manifest.features[0]"));
        assert!(err(json!({ "image": "x", "persistedPaths": ["rel"] }))
            .contains("persistedPaths[0]: must be an absolute path"));
        assert!(err(json!({ "image": "x", "persistedPaths": ["/a/../b"] })).contains("persistedPaths[0]"));
        assert!(err(json!({ "image": "x", "persistedPaths": ["/", "/a"] })).contains("persistedPaths[0]"));
        let nine: Vec<String> = (0..9).map(|i| format!("/p{i}")).collect();
        assert!(err(json!({ "image": "x", "persistedPaths": nine })).contains("at most 8"));
        assert!(err(json!({ "image": "x", "sleepTtlSeconds": 0 })).contains("sleepTtlSeconds"));
        assert!(err(json!({ "image": "x", "sleepTtlSeconds": 1.5 })).contains("sleepTtlSeconds"));
        assert!(err(json!({ "image": "x", "idleTimeoutSeconds": 604801 })).contains("idleTimeoutSeconds"));
        assert!(err(json!({ "image": "x", "previewPort": 70000 })).contains("previewPort"));
        assert!(err(json!({ "image": "x", "command": [] })).contains("command"));
        assert!(err(json!({ "image": "x", "env": { "lower": "v" } })).contains("env.lower"));
        assert!(err(json!({ "image": "x", "imagee": "y" })).contains("manifest.imagee: unknown field"));
    }

    #[test]
    fn control_characters_are_refused_where_a_session_would_use_them() {
        for image in ["node\u{0}:22", "node:22\u{7f}", "no\u{85}de", "no\u{1b}[31mde"] {
            assert!(err(json!({ "image": image })).starts_with("manifest.image:"), "{image:?}");
        }
        for value in ["a\u{0}b", "line\nbreak", "tab\there", "\u{9b}"] {
            let message = err(json!({ "image": "x", "env": { "A": "ok", "B": value } }));
            assert_eq!(message, "manifest.env.B: must not contain control characters", "{value:?}");
            let message = err(json!({ "image": "x", "command": ["sh", "-c", value] }));
            assert_eq!(message, "manifest.command[2]: must not contain control characters", "{value:?}");
        }
        let e = Manifest::parse(&json!({ "image": "x", "env": { "B": "\u{0}" } })).unwrap_err();
        assert_eq!(e.code, Code::InvalidManifest);
        let fine = json!({ "image": "x", "env": { "GREETING": "héllo wörld ✓" }, "command": ["echo", "a b"] });
        assert!(Manifest::parse(&fine).is_ok(), "printable Unicode and spaces stay allowed");
    }
}
