//! The small internal protocol between the Worker and a session's Durable Object, for the driver
//! calls that run outside the object (reconcile's status and stops from the queue consumer, the
//! logs route, reconcile's save before an idle sleep): `/__runtime/{start,stop,status,logs,save}`,
//! and `PUT /__runtime/restore`, whose body is the archive (streamed, so never decoded here). The Worker's fetch entry never forwards
//! such a path to an object (see [`super::routing`]), so only the Worker itself reaches them.
//! Pure (encoding both ways), so it is tested on every target.

use burstflare_core::error::PortError;
use burstflare_core::ids::{SessionId, TemplateId, VersionId, WorkspaceId};
use burstflare_core::ports::{RuntimeSpec, RuntimeStatus};
use burstflare_core::time::Timestamp;
use serde_json::{json, Value};

/// The prefix of every internal path.
pub const PREFIX: &str = "/__runtime/";
/// The header naming the session an internal call is about.
pub const SESSION_HEADER: &str = "x-burstflare-session";

/// A driver call as the object receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Start(Box<RuntimeSpec>),
    Stop,
    Status,
    Logs {
        max_bytes: usize,
    },
    /// The persisted paths' archive, streamed back as the response's body.
    Save,
}

/// The path of the streamed restore (`PUT`, the archive as its body).
pub const RESTORE: &str = "/__runtime/restore";

/// The method, path and JSON body of a call.
pub fn encode(call: &Call) -> (&'static str, String, Option<Value>) {
    match call {
        Call::Start(spec) => {
            let body = json!({
                "sessionId": spec.session_id.as_str(), "workspaceId": spec.workspace_id.as_str(),
                "templateId": spec.template_id.as_str(), "versionId": spec.version_id.as_str(),
                "manifest": spec.manifest, "bundleKey": spec.bundle_key,
            });
            ("POST", format!("{PREFIX}start"), Some(body))
        }
        Call::Stop => ("POST", format!("{PREFIX}stop"), None),
        Call::Status => ("GET", format!("{PREFIX}status"), None),
        Call::Logs { max_bytes } => ("GET", format!("{PREFIX}logs?max={max_bytes}"), None),
        Call::Save => ("GET", format!("{PREFIX}save"), None),
    }
}

/// The call a request of the object is, or `None` when it is not an internal one.
pub fn decode(method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Option<Result<Call, String>> {
    let name = path.strip_prefix(PREFIX)?;
    Some(match (method, name) {
        ("POST", "start") => spec(body).map(|s| Call::Start(Box::new(s))),
        ("POST", "stop") => Ok(Call::Stop),
        ("GET", "status") => Ok(Call::Status),
        ("GET", "save") => Ok(Call::Save),
        ("GET", "logs") => {
            let max = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("max=")));
            max.and_then(|m| m.parse().ok()).map(|max_bytes| Call::Logs { max_bytes }).ok_or("max is required".into())
        }
        _ => Err(format!("no internal call {method} {name}")),
    })
}

fn spec(body: &[u8]) -> Result<RuntimeSpec, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let text = |k: &str| v[k].as_str().map(str::to_string).ok_or(format!("{k} is required"));
    Ok(RuntimeSpec {
        session_id: SessionId::from_raw(text("sessionId")?),
        workspace_id: WorkspaceId::from_raw(text("workspaceId")?),
        template_id: TemplateId::from_raw(text("templateId")?),
        version_id: VersionId::from_raw(text("versionId")?),
        manifest: serde_json::from_value(v["manifest"].clone()).map_err(|e| e.to_string())?,
        bundle_key: v["bundleKey"].as_str().map(str::to_string),
    })
}

/// A status as JSON, and back.
pub fn status_json(status: RuntimeStatus) -> Value {
    match status {
        RuntimeStatus::Running { last_activity } => {
            json!({ "state": "running", "lastActivity": last_activity.map(|t| t.0) })
        }
        RuntimeStatus::Stopped => json!({ "state": "stopped" }),
    }
}

pub fn status_from(v: &Value) -> Result<RuntimeStatus, PortError> {
    match v["state"].as_str() {
        Some("running") => Ok(RuntimeStatus::Running { last_activity: v["lastActivity"].as_i64().map(Timestamp) }),
        Some("stopped") => Ok(RuntimeStatus::Stopped),
        _ => Err(PortError::Other(format!("the session's object answered an unknown status: {v}"))),
    }
}

/// A driver error as (HTTP status, JSON), and back: `Unavailable` stays `Unavailable`.
pub fn error_json(e: &PortError) -> (u16, Value) {
    match e {
        PortError::Unavailable(m) => (503, json!({ "kind": "unavailable", "error": m })),
        other => (500, json!({ "kind": "other", "error": other.to_string() })),
    }
}

pub fn error_from(v: &Value) -> PortError {
    let message = v["error"].as_str().unwrap_or("the session's object failed").to_string();
    match v["kind"].as_str() {
        Some("unavailable") => PortError::Unavailable(message),
        _ => PortError::Other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(call: Call) -> Call {
        let (method, path, body) = encode(&call);
        let (path, query) = path.split_once('?').map_or((path.as_str(), None), |(p, q)| (p, Some(q)));
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        decode(method, path, query, body.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn every_call_survives_the_trip() {
        let manifest = serde_json::from_value(json!({ "image": "x", "command": ["a"], "previewPort": 8000 })).unwrap();
        let spec = RuntimeSpec {
            session_id: SessionId::from_raw("ses_1"),
            workspace_id: WorkspaceId::from_raw("wsp_1"),
            template_id: TemplateId::from_raw("tpl_1"),
            version_id: VersionId::from_raw("ver_1"),
            manifest,
            bundle_key: Some("b/1".into()),
        };
        for call in [Call::Start(Box::new(spec)), Call::Stop, Call::Status, Call::Logs { max_bytes: 9 }, Call::Save] {
            assert_eq!(roundtrip(call.clone()), call);
        }
    }

    #[test]
    fn other_paths_are_not_internal_and_bad_calls_are_refused() {
        assert_eq!(decode("GET", "/runtime/sessions/s/terminal", None, b""), None);
        assert!(decode("GET", "/__runtime/stop", None, b"").unwrap().is_err());
        assert!(decode("GET", "/__runtime/logs", None, b"").unwrap().is_err());
        assert!(decode("POST", "/__runtime/start", None, b"{}").unwrap().is_err());
    }

    #[test]
    fn statuses_and_errors_survive_the_trip() {
        for s in [RuntimeStatus::Stopped, RuntimeStatus::Running { last_activity: Some(Timestamp(5)) }] {
            assert_eq!(status_from(&status_json(s)).unwrap(), s);
        }
        let (code, v) = error_json(&PortError::Unavailable("down".into()));
        assert_eq!((code, error_from(&v).to_string()), (503, "unavailable: down".to_string()));
        assert!(matches!(error_from(&error_json(&PortError::Other("x".into())).1), PortError::Other(_)));
    }
}
