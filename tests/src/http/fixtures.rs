//! Accounts made through the API, the building block of every scenario.

use super::client::{Api, Resp};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

pub const PASSWORD: &str = "correct horse battery";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// An email no other scenario (or run) uses.
pub fn unique_email(tag: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{tag}.{nanos}.{n}@example.com")
}

/// A registered account and its current sign-in.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub workspace_id: String,
    pub token: String,
    pub refresh: String,
}

impl Account {
    pub fn from_payload(email: &str, r: &Resp) -> Self {
        assert_eq!(r.status, 200, "sign-in failed: {}", r.text);
        Self {
            email: email.to_string(),
            user_id: r.body["user"]["id"].as_str().expect("user id").to_string(),
            workspace_id: r.body["workspace"]["id"].as_str().expect("workspace id").to_string(),
            token: r.body["token"].as_str().expect("token").to_string(),
            refresh: r.body["refreshToken"].as_str().expect("refresh token").to_string(),
        }
    }
}

/// Registers a new API account; each registration comes from a fresh client IP.
pub async fn register(api: &Api, tag: &str) -> Account {
    let email = unique_email(tag);
    let api = api.other_client();
    let r = api
        .post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD, "name": tag, "kind": "api" }))
        .await;
    Account::from_payload(&email, &r)
}

/// Owner invites `who` with `role`; `who` accepts and switches into the owner's workspace.
/// Returns `who` signed in to that workspace.
pub async fn join(api: &Api, owner: &Account, who: &Account, role: &str) -> Account {
    let r = api
        .post("/api/workspaces/current/invites", Some(&owner.token), json!({ "email": who.email, "role": role }))
        .await;
    assert_eq!(r.status, 200, "invite: {}", r.text);
    let code = r.body["invite"]["code"].as_str().expect("invite code").to_string();
    let r = api.post("/api/workspaces/current/invites/accept", Some(&who.token), json!({ "inviteCode": code })).await;
    assert_eq!(r.status, 200, "accept: {}", r.text);
    let r =
        api.post("/api/auth/switch-workspace", Some(&who.token), json!({ "workspaceId": owner.workspace_id })).await;
    Account::from_payload(&who.email, &r)
}
