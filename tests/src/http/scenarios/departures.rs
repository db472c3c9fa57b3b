//! Departures over HTTP: removing a member, revoking an invite and leaving, with their audit
//! entries, their refusals (which change nothing), and a browser leaving with its cookies.

use crate::http::client::Resp;
use crate::http::fixtures::{join, register, PASSWORD};
use crate::http::Api;
use burstflare_api::routes::{self, path};
use serde_json::{json, Value};

async fn delete(api: &Api, route: &str, token: &str) -> Resp {
    api.req("DELETE", route).token(token).send().await
}

async fn audit_actions(api: &Api, token: &str) -> Vec<String> {
    let r = api.get("/api/audit?limit=200", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let entries = r.body["audit"].as_array().cloned().unwrap_or_default();
    entries.iter().filter_map(|e| e["action"].as_str().map(str::to_owned)).collect()
}

async fn member_count(api: &Api, token: &str) -> usize {
    let r = api.get(routes::MEMBERS, token).await;
    r.body["members"].as_array().map_or(0, Vec::len)
}

pub async fn members_are_removed_and_leave(api: &Api) {
    let owner = register(api, "d-owner").await;
    let admin = join(api, &owner, &register(api, "d-admin").await, "admin").await;
    let member = join(api, &owner, &register(api, "d-member").await, "member").await;
    let viewer = join(api, &owner, &register(api, "d-viewer").await, "viewer").await;

    let before = audit_actions(api, &owner.token).await;
    let r = delete(api, &routes::member(&owner.user_id), &admin.token).await;
    assert_eq!((r.status, r.code()), (403, "insufficient_permissions"), "{}", r.text);
    let r = delete(api, &routes::member(&admin.user_id), &admin.token).await;
    assert_eq!((r.status, r.code()), (400, "self_removal"));
    let r = delete(api, &routes::member(&viewer.user_id), &member.token).await;
    assert_eq!((r.status, r.code()), (403, "insufficient_permissions"));
    let r = api.post(routes::LEAVE, Some(&owner.token), json!(null)).await;
    assert_eq!((r.status, r.code()), (409, "last_owner"));
    assert_eq!(audit_actions(api, &owner.token).await, before, "refusals write nothing");

    let r = delete(api, &routes::member(&member.user_id), &admin.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["ok"].clone(), r.body["membership"]["role"].clone()), (json!(true), json!("member")));
    assert_eq!(api.get(routes::ME, &member.token).await.status, 401, "access ends at once");
    let r = api.post(routes::REFRESH, None, json!({ "refreshToken": member.refresh })).await;
    assert_eq!(r.status, 401);
    let r = delete(api, &routes::member(&member.user_id), &admin.token).await;
    assert_eq!((r.status, r.code()), (404, "membership_not_found"));
    assert_eq!(member_count(api, &owner.token).await, 3);

    // The viewer leaves and gets a sign-in to their own workspace.
    let r = api.post(routes::LEAVE, Some(&viewer.token), json!(null)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["workspace"]["role"], "owner");
    assert_ne!(r.body["workspace"]["id"], owner.workspace_id.as_str());
    let home = r.body["token"].as_str().expect("a new token").to_string();
    assert_eq!(api.get(routes::ME, &home).await.body["user"]["id"], viewer.user_id.as_str());
    assert_eq!(api.get(routes::ME, &viewer.token).await.status, 401);
    assert_eq!(member_count(api, &owner.token).await, 2);

    let actions = audit_actions(api, &owner.token).await;
    for expected in ["workspace.member_removed", "workspace.member_left"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} missing from {actions:?}");
    }
}

pub async fn invites_are_revoked(api: &Api) {
    let owner = register(api, "r-owner").await;
    let member = join(api, &owner, &register(api, "r-member").await, "member").await;
    let invitee = register(api, "r-invitee").await;
    let r = api.post(routes::INVITES, Some(&owner.token), json!({ "email": invitee.email })).await;
    let (id, code) = (r.body["invite"]["id"].as_str().unwrap().to_string(), r.body["invite"]["code"].clone());
    let invite_path = path(routes::INVITE, &[&id]);

    let r = delete(api, &invite_path, &member.token).await;
    assert_eq!((r.status, r.code()), (403, "insufficient_permissions"));
    let r = delete(api, &invite_path, &invitee.token).await;
    assert_eq!((r.status, r.code()), (404, "invite_not_found"), "another workspace's invite is invisible");
    let r = delete(api, &path(routes::INVITE, &["inv_nope"]), &owner.token).await;
    assert_eq!((r.status, r.code()), (404, "invite_not_found"));

    let r = delete(api, &invite_path, &owner.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["invite"]["status"].clone(), r.body["invite"].get("code")), (json!("revoked"), None));
    let r = api.get(routes::MEMBERS, &owner.token).await;
    assert_eq!(r.body["invites"], json!([]));
    let r = api.post(routes::ACCEPT_INVITE, Some(&invitee.token), json!({ "inviteCode": code })).await;
    assert_eq!((r.status, r.code()), (410, "invite_revoked"));
    let r = delete(api, &invite_path, &owner.token).await;
    assert_eq!((r.status, r.code()), (410, "invite_revoked"));
    assert!(audit_actions(api, &owner.token).await.iter().any(|a| a == "workspace.invite_revoked"));
}

/// A browser leaves with its cookies: the CSRF token is required, and the answer sets the
/// cookies of the sign-in to the personal workspace.
pub async fn a_browser_leaves_with_its_cookies(api: &Api) {
    let owner = register(api, "b-owner").await;
    let own = register(api, "b-mate").await;
    let mate = join(api, &owner, &own, "member").await;
    let login = json!({ "email": mate.email, "password": PASSWORD, "workspaceId": owner.workspace_id });
    let r = api.post(routes::LOGIN, None, login).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let csrf = r.body["csrfToken"].as_str().expect("a browser sign-in").to_string();
    let access = r.cookies().into_iter().find(|c| c.starts_with("burstflare_access=")).expect("access cookie");
    let jar = access.split(';').next().unwrap_or_default().to_string();

    let r = api.req("POST", routes::LEAVE).header("cookie", &jar).json(Value::Null).send().await;
    assert_eq!((r.status, r.code()), (403, "csrf_failed"));
    assert_eq!(member_count(api, &owner.token).await, 2, "refused before anything changed");
    let r = api.req("POST", routes::LEAVE).header("cookie", &jar).header("x-burstflare-csrf", &csrf).send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.cookies().iter().any(|c| c.starts_with("burstflare_access=") && !c.contains("Max-Age=0")));
    assert!(r.body["csrfToken"].as_str().is_some_and(|t| t != csrf));
    assert_eq!(r.body["workspace"]["id"], own.workspace_id.as_str());
    assert_eq!(member_count(api, &owner.token).await, 1);
}
