//! The authorisation table: every route of `ports::routes::ALL` × every caller (anonymous,
//! viewer, member, admin, owner, and a user of another workspace). A route without an entry fails
//! the suite, so a new route cannot ship without its permission test.

use crate::http::fixtures::{join, register, unique_email, Account};
use crate::http::Api;
use burstflare_ports::routes::{self, Auth};
use serde_json::{json, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Nobody,
    AnyMember,
    Admin,
}

/// The callers, from least to most powerful, then the outsider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Viewer,
    Member,
    Admin,
    Owner,
    /// Signed in to their own workspace; targets the main workspace's resources.
    Outsider,
}

const CALLERS: [Caller; 6] =
    [Caller::Anonymous, Caller::Viewer, Caller::Member, Caller::Admin, Caller::Owner, Caller::Outsider];

fn need(method: &str, path: &str) -> Option<Need> {
    use routes::*;
    Some(match (method, path) {
        ("GET", HEALTH) | ("POST", REGISTER) | ("POST", LOGIN) | ("POST", REFRESH) => Need::Nobody,
        ("POST", DEVICE_START) | ("POST", DEVICE_EXCHANGE) => Need::Nobody,
        ("POST", LOGOUT) | ("GET", ME) | ("POST", SWITCH_WORKSPACE) | ("POST", DEVICE_APPROVE) => Need::AnyMember,
        ("GET", WORKSPACES) | ("GET", MEMBERS) | ("POST", ACCEPT_INVITE) | ("GET", AUDIT) => Need::AnyMember,
        ("POST", INVITES) | ("POST", MEMBER_ROLE) | ("POST", PLAN) => Need::Admin,
        _ => return None,
    })
}

struct World {
    owner: Account,
    admin: Account,
    member: Account,
    viewer: Account,
    outsider: Account,
    /// A member whose role the table may change.
    target: Account,
}

impl World {
    fn account(&self, caller: Caller) -> Option<&Account> {
        Some(match caller {
            Caller::Anonymous => return None,
            Caller::Viewer => &self.viewer,
            Caller::Member => &self.member,
            Caller::Admin => &self.admin,
            Caller::Owner => &self.owner,
            Caller::Outsider => &self.outsider,
        })
    }
}

/// A valid request for the route, so that only authorisation can refuse it: its concrete path,
/// its body, and the caller's token (a fresh sign-in for logout, which revokes what it is given).
async fn request(api: &Api, world: &World, path: &str, caller: Caller) -> (String, Value, Option<String>) {
    use routes::*;
    let mut token = world.account(caller).map(|a| a.token.clone());
    if let (LOGOUT, Some(account)) = (path, world.account(caller)) {
        let login = json!({ "email": account.email, "password": "correct horse battery", "kind": "api",
                            "workspaceId": account.workspace_id });
        let r = api.other_client().post(LOGIN, None, login).await;
        token = r.body["token"].as_str().map(str::to_owned);
    }
    let body = match path {
        REGISTER => json!({ "email": unique_email("authz"), "password": "correct horse battery", "kind": "api" }),
        LOGIN => json!({ "email": world.owner.email, "password": "correct horse battery", "kind": "api" }),
        REFRESH => {
            let fresh = api
                .other_client()
                .post(
                    LOGIN,
                    None,
                    json!({ "email": world.owner.email, "password": "correct horse battery", "kind": "api" }),
                )
                .await;
            json!({ "refreshToken": fresh.body["refreshToken"] })
        }
        SWITCH_WORKSPACE => json!({ "workspaceId": world.owner.workspace_id }),
        DEVICE_APPROVE => {
            let started = api.other_client().post(DEVICE_START, None, json!({})).await;
            json!({ "userCode": started.body["userCode"] })
        }
        DEVICE_EXCHANGE => json!({ "deviceCode": "bfd_unknown" }),
        INVITES => json!({ "email": unique_email("invitee"), "role": "viewer" }),
        ACCEPT_INVITE => json!({ "inviteCode": "bfi_unknown" }),
        MEMBER_ROLE => json!({ "role": if caller == Caller::Owner { "member" } else { "viewer" } }),
        PLAN => json!({ "plan": "pro" }),
        _ => Value::Null,
    };
    (path.replace("{user_id}", &world.target.user_id), body, token)
}

/// What the outsider gets when a route names the main workspace or one of its members: members
/// of other workspaces are invisible (404), and switching into a workspace one does not belong to
/// is refused (403).
fn cross_workspace(caller: Caller, path: &str) -> Option<u16> {
    match (caller, path) {
        (Caller::Outsider, routes::MEMBER_ROLE) => Some(404),
        (Caller::Outsider, routes::SWITCH_WORKSPACE) => Some(403),
        _ => None,
    }
}

fn allowed(need: Need, caller: Caller) -> bool {
    match (need, caller) {
        (Need::Nobody, _) => true,
        (_, Caller::Anonymous) => false,
        (Need::AnyMember, _) => true,
        (Need::Admin, c) => matches!(c, Caller::Admin | Caller::Owner | Caller::Outsider),
    }
}

pub async fn every_route_has_an_authorisation_entry(api: &Api) {
    let owner = register(api, "t-owner").await;
    let world = World {
        admin: join(api, &owner, &register(api, "t-admin").await, "admin").await,
        member: join(api, &owner, &register(api, "t-member").await, "member").await,
        viewer: join(api, &owner, &register(api, "t-viewer").await, "viewer").await,
        target: join(api, &owner, &register(api, "t-target").await, "member").await,
        outsider: register(api, "t-outsider").await,
        owner,
    };
    let mut missing = Vec::new();
    for route in routes::ALL {
        let Some(need) = need(route.method, route.path) else {
            missing.push(format!("{} {}", route.method, route.path));
            continue;
        };
        assert_eq!(
            need == Need::Nobody,
            route.auth == Auth::None,
            "{} {}: table and contract disagree",
            route.method,
            route.path
        );
        for caller in CALLERS {
            let (path, body, token) = request(api, &world, route.path, caller).await;
            let client = api.other_client();
            let mut req = client.req(route.method, &path);
            if let Some(token) = &token {
                req = req.token(token);
            }
            if route.method != "GET" {
                req = req.json(body);
            }
            let r = req.send().await;
            let what = format!("{} {} as {caller:?}: {} {}", route.method, path, r.status, r.text);
            assert!(r.status < 500, "{what}");
            if let Some(status) = cross_workspace(caller, route.path) {
                assert_eq!(r.status, status, "cross-workspace: {what}");
            } else if allowed(need, caller) {
                assert!(r.status != 401 && r.status != 403, "should be allowed: {what}");
            } else if caller == Caller::Anonymous {
                assert_eq!(r.status, 401, "{what}");
            } else {
                assert_eq!(r.status, 403, "{what}");
            }
        }
    }
    assert!(missing.is_empty(), "routes without an authorisation entry: {missing:?}");
}
