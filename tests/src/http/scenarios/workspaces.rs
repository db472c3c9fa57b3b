//! Workspaces over HTTP: invites, accept, switch, members, roles, plans, audit, and refusals that
//! leave nothing changed.

use crate::http::fixtures::{join, register};
use crate::http::Api;
use serde_json::{json, Value};

async fn audit_len(api: &Api, token: &str) -> usize {
    let r = api.get("/api/audit?limit=200", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["audit"].as_array().map(Vec::len).unwrap_or(0)
}

pub async fn invite_accept_switch(api: &Api) {
    let owner = register(api, "owner").await;
    let mate = register(api, "mate").await;
    let r = api
        .post("/api/workspaces/current/invites", Some(&owner.token), json!({ "email": mate.email.to_uppercase() }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["invite"]["role"], "member");
    assert_eq!(r.body["invite"]["email"], mate.email.to_lowercase());
    let code = r.body["invite"]["code"].as_str().unwrap().to_string();

    let members = api.get("/api/workspaces/current/members", &owner.token).await;
    assert_eq!(members.body["invites"].as_array().map(Vec::len), Some(1));
    assert!(members.body["invites"][0].get("code").is_none(), "codes are shown once");

    let stranger = register(api, "stranger").await;
    let r =
        api.post("/api/workspaces/current/invites/accept", Some(&stranger.token), json!({ "inviteCode": code })).await;
    assert_eq!((r.status, r.code()), (403, "invite_email_mismatch"));

    let r = api.post("/api/workspaces/current/invites/accept", Some(&mate.token), json!({ "inviteCode": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["workspace"]["role"], "member");
    assert_eq!(r.body["workspace"]["memberCount"], 2);
    let r = api.post("/api/workspaces/current/invites/accept", Some(&mate.token), json!({ "inviteCode": code })).await;
    assert_eq!((r.status, r.code()), (409, "invite_used"));

    // Accepting does not move the token; switching does.
    let me = api.get("/api/auth/me", &mate.token).await;
    assert_eq!(me.body["workspace"]["id"], mate.workspace_id.as_str());
    let r = api.get("/api/workspaces", &mate.token).await;
    assert_eq!(r.body["workspaces"].as_array().map(Vec::len), Some(2));
    let r =
        api.post("/api/auth/switch-workspace", Some(&mate.token), json!({ "workspaceId": owner.workspace_id })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let switched = r.body["token"].as_str().unwrap().to_string();
    let me = api.get("/api/auth/me", &switched).await;
    assert_eq!(me.body["workspace"]["id"], owner.workspace_id.as_str());
    assert_eq!(me.body["membership"]["role"], "member");
    assert_eq!(api.get("/api/auth/me", &mate.token).await.body["workspace"]["id"], mate.workspace_id.as_str());

    let r = api.get("/api/workspaces/current/members", &switched).await;
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(r.body["invites"].as_array().map(Vec::len), Some(0));

    let r = api
        .post("/api/auth/switch-workspace", Some(&stranger.token), json!({ "workspaceId": owner.workspace_id }))
        .await;
    assert_eq!((r.status, r.code()), (403, "not_a_member"));
    let r = api.post("/api/auth/switch-workspace", Some(&owner.token), json!({ "workspaceId": "ws_nope" })).await;
    assert_eq!(r.status, 404);

    let actions: Vec<Value> = api.get("/api/audit", &owner.token).await.body["audit"].as_array().cloned().unwrap();
    let names: Vec<&str> = actions.iter().filter_map(|a| a["action"].as_str()).collect();
    for expected in ["workspace.invite_created", "workspace.invite_accepted", "workspace.switched"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
}

pub async fn roles_and_plans(api: &Api) {
    let owner = register(api, "boss").await;
    let admin = join(api, &owner, &register(api, "admin").await, "admin").await;
    let member = join(api, &owner, &register(api, "member").await, "member").await;
    let role_path = |user: &str| format!("/api/workspaces/current/members/{user}/role");

    let before = audit_len(api, &owner.token).await;
    let r = api.post(&role_path(&owner.user_id), Some(&admin.token), json!({ "role": "viewer" })).await;
    assert_eq!((r.status, r.code()), (409, "owner_immutable"));
    let r = api.post(&role_path(&member.user_id), Some(&admin.token), json!({ "role": "owner" })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_role"));
    let r = api.post(&role_path(&admin.user_id), Some(&member.token), json!({ "role": "viewer" })).await;
    assert_eq!((r.status, r.code()), (403, "insufficient_permissions"));
    let r = api.post(&role_path("usr_missing"), Some(&admin.token), json!({ "role": "viewer" })).await;
    assert_eq!((r.status, r.code()), (404, "membership_not_found"));
    assert_eq!(audit_len(api, &owner.token).await, before, "refusals write nothing");

    let r = api.post(&role_path(&member.user_id), Some(&admin.token), json!({ "role": "viewer" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["membership"]["role"], "viewer");
    // Roles are read per request: the same token is now a viewer's.
    let viewer = member;
    assert_eq!(api.get("/api/auth/me", &viewer.token).await.body["membership"]["role"], "viewer");
    let r = api.post("/api/workspaces/current/invites", Some(&viewer.token), json!({ "email": "v@example.com" })).await;
    assert_eq!(r.status, 403);
    let r = api.post("/api/workspaces/current/plan", Some(&viewer.token), json!({ "plan": "pro" })).await;
    assert_eq!(r.status, 403);

    let r = api.post("/api/workspaces/current/plan", Some(&admin.token), json!({ "plan": "platinum" })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_plan"));
    let r = api.post("/api/workspaces/current/plan", Some(&owner.token), json!({ "plan": "pro" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["workspace"]["plan"], "pro");
    assert_eq!(r.body["workspace"]["limits"]["maxTemplates"], 100);
    assert_eq!(api.get("/api/auth/me", &viewer.token).await.body["workspace"]["plan"], "pro");

    let r = api.get("/api/audit?limit=2", &viewer.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["audit"].as_array().map(Vec::len), Some(2));
    assert_eq!(r.body["audit"][0]["action"], "workspace.plan_updated", "newest first");
    assert_eq!(api.get("/api/audit?limit=0", &viewer.token).await.status, 400);
    assert_eq!(api.get("/api/audit?limit=abc", &viewer.token).await.status, 400);
}

pub async fn invites_are_refused_cleanly(api: &Api) {
    let owner = register(api, "inv").await;
    let mate = register(api, "inv-mate").await;
    let r = api
        .post("/api/workspaces/current/invites", Some(&owner.token), json!({ "email": mate.email, "role": "owner" }))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_role"));
    let r = api.post("/api/workspaces/current/invites", Some(&owner.token), json!({ "email": "nope" })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_email"));
    let r = api.post("/api/workspaces/current/invites", Some(&owner.token), json!({ "email": owner.email })).await;
    assert_eq!((r.status, r.code()), (409, "already_member"));
    let r =
        api.post("/api/workspaces/current/invites/accept", Some(&mate.token), json!({ "inviteCode": "bfi_x" })).await;
    assert_eq!((r.status, r.code()), (404, "invite_not_found"));
    let members = api.get("/api/workspaces/current/members", &owner.token).await;
    assert_eq!(members.body["invites"].as_array().map(Vec::len), Some(0), "no invite was created");
}
