//! Sessions over HTTP: create from a promoted template, list, show with events, start, stop,
//! restart, delete, usage; refusals (unpromoted template, taken name, viewers, other workspaces).
//! Where the deployment has no session runtime (the Worker today), a start is a 503 that says so.

use super::templates::{add_version, create_template, settled, upload};
use crate::http::bundles::bundle;
use crate::http::fixtures::{join, register, Account};
use crate::http::Api;
use burstflare_api::routes::{self, path};
use serde_json::json;

/// A template of the owner's workspace whose first version is built and promoted.
pub(crate) async fn promoted(api: &Api, owner: &Account, name: &str) -> String {
    let template = create_template(api, owner, name).await;
    let (version, build) = add_version(api, owner, &template, "1.0.0").await;
    let r = upload(api, owner, &template, &version, bundle(&[("a.txt", "a")], None)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(settled(api, owner, &build).await["status"], "succeeded");
    let r = api
        .post(&path(routes::TEMPLATE_PROMOTE, &[&template]), Some(&owner.token), json!({ "versionId": version }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    template
}

async fn runtime_available(api: &Api) -> bool {
    let r = api.req("GET", routes::HEALTH).send().await;
    r.body["runtime"]["available"].as_bool().unwrap_or(false)
}

pub async fn sessions_run_their_lifecycle(api: &Api) {
    let owner = register(api, "sessions").await;
    let template = promoted(api, &owner, "dev-env").await;
    let r = api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": "Box", "templateId": template })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["session"]["state"].as_str(), r.body["session"]["templateName"].as_str()),
        (Some("created"), Some("dev-env"))
    );
    let id = r.body["session"]["id"].as_str().unwrap().to_string();
    let r = api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": "box", "templateId": template })).await;
    assert_eq!((r.status, r.code()), (409, "session_name_taken"), "{}", r.text);
    let r = api.get(routes::SESSIONS, &owner.token).await;
    assert_eq!(r.body["sessions"].as_array().map(Vec::len), Some(1), "{}", r.text);

    let start = path(routes::SESSION_START, &[&id]);
    if !runtime_available(api).await {
        let r = api.post(&start, Some(&owner.token), json!({})).await;
        assert_eq!((r.status, r.code()), (503, "runtime_unavailable"), "{}", r.text);
        let r = api.get(&path(routes::SESSION, &[&id]), &owner.token).await;
        assert_eq!(r.body["session"]["state"], "created", "a refused start changes nothing");
        return;
    }
    let r = api.post(&start, Some(&owner.token), json!({})).await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (200, Some("running")), "{}", r.text);
    let r = api.post(&start, Some(&owner.token), json!({})).await;
    assert_eq!((r.status, r.code()), (409, "session_not_startable"), "{}", r.text);
    let r = api.post(&path(routes::SESSION_RUNTIME_TOKEN, &[&id]), Some(&owner.token), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let runtime = r.body["token"].as_str().unwrap_or_default().to_string();
    assert!(runtime.starts_with("bfrt_") && r.body["sessionId"] == id.as_str(), "{}", r.text);
    assert_eq!(api.get(routes::SESSIONS, &runtime).await.status, 401, "a runtime token is no access token");
    let r = api.post(&path(routes::SESSION_STOP, &[&id]), Some(&owner.token), json!({})).await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (200, Some("sleeping")), "{}", r.text);
    let r = api.post(&path(routes::SESSION_RESTART, &[&id]), Some(&owner.token), json!({})).await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (200, Some("running")), "{}", r.text);
    let r = api.req("DELETE", &path(routes::SESSION, &[&id])).token(&owner.token).send().await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (200, Some("deleted")), "{}", r.text);
    let r = api.get(&path(routes::SESSION_EVENTS, &[&id]), &owner.token).await;
    let states: Vec<&str> = r.body["events"].as_array().unwrap().iter().filter_map(|e| e["state"].as_str()).collect();
    assert_eq!(
        states,
        ["created", "starting", "running", "stopping", "sleeping", "starting", "running", "deleted"],
        "{}",
        r.text
    );
    let r = api.get(&path(routes::SESSION, &[&id]), &owner.token).await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (200, Some("deleted")), "{}", r.text);
    assert_eq!(r.body["events"].as_array().map(Vec::len), Some(8));
    let r = api.get(routes::SESSIONS, &owner.token).await;
    assert_eq!(r.body["sessions"].as_array().map(Vec::len), Some(0), "{}", r.text);
    let r = api.get(routes::USAGE, &owner.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["usage"]["runtimeSeconds"].as_i64().is_some(), "{}", r.text);
    assert_eq!((r.body["plan"].as_str(), r.body["limits"]["maxRunningSessions"].as_u64()), (Some("free"), Some(3)));
    assert_eq!(r.body["usage"]["templateBuilds"], 1, "{}", r.text);

    // A start that does not wait answers 202 while the runtime boots.
    let r = api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": "later", "templateId": template })).await;
    let later = r.body["session"]["id"].as_str().unwrap().to_string();
    let r = api
        .post(&format!("{}?wait=false", path(routes::SESSION_START, &[&later])), Some(&owner.token), json!({}))
        .await;
    assert_eq!((r.status, r.body["session"]["state"].as_str()), (202, Some("starting")), "{}", r.text);
    // Up to 30 s: a real runtime (a container) may take seconds to boot on a loaded machine.
    let mut state = String::new();
    for _ in 0..600 {
        let r = api.get(&path(routes::SESSION, &[&later]), &owner.token).await;
        state = r.body["session"]["state"].as_str().unwrap_or_default().to_string();
        if state == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "running");
}

pub async fn sessions_are_refused_cleanly(api: &Api) {
    let owner = register(api, "sessions-refused").await;
    let bare = create_template(api, &owner, "bare").await;
    let create = |name: &str, template: &str| {
        api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": name, "templateId": template }))
    };
    let r = create("x", &bare).await;
    assert_eq!((r.status, r.code()), (409, "template_not_promoted"), "{}", r.text);
    let r = create("", &bare).await;
    assert_eq!((r.status, r.code()), (400, "session_name_required"), "{}", r.text);
    let r = create("x", "tpl_unknown").await;
    assert_eq!((r.status, r.code()), (404, "template_not_found"), "{}", r.text);
    let r = api.post(routes::SESSIONS, Some(&owner.token), json!({ "name": "x" })).await;
    assert_eq!(r.status, 400, "a missing templateId: {}", r.text);

    let template = promoted(api, &owner, "refusals").await;
    let r = create("mine", &template).await;
    let id = r.body["session"]["id"].as_str().unwrap().to_string();
    let viewer = join(api, &owner, &register(api, "sessions-viewer").await, "viewer").await;
    let r = api.get(&path(routes::SESSION, &[&id]), &viewer.token).await;
    assert_eq!(r.status, 200, "viewers read: {}", r.text);
    let r = api.post(&path(routes::SESSION_START, &[&id]), Some(&viewer.token), json!({})).await;
    assert_eq!(r.status, 403, "viewers do not run sessions: {}", r.text);
    let stranger = register(api, "sessions-stranger").await;
    for (method, route) in [("GET", routes::SESSION), ("DELETE", routes::SESSION), ("POST", routes::SESSION_STOP)] {
        let r = api.req(method, &path(route, &[&id])).token(&stranger.token).json(json!({})).send().await;
        assert_eq!((r.status, r.code()), (404, "session_not_found"), "{method} {route}: {}", r.text);
    }
    let r = api.req("DELETE", &path(routes::TEMPLATE, &[&template])).token(&owner.token).send().await;
    assert_eq!((r.status, r.code()), (409, "template_in_use"), "{}", r.text);
}
