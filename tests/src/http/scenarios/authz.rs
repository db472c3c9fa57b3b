//! The authorisation table: every route of `ports::routes::ALL` × every caller (anonymous,
//! viewer, member, admin, owner, and a user of another workspace). A route without an entry fails
//! the suite, so a new route cannot ship without its permission test; and the edge's Router serves
//! exactly `ALL` (`edge/tests/router.rs`), so no route can be mounted around this table.

use crate::http::fixtures::{join, register, unique_email, Account};
use crate::http::Api;
use burstflare_api::routes::{self, Auth};
use serde_json::{json, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Nobody,
    AnyMember,
    /// Members, admins and the owner (not viewers).
    Writer,
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

fn need(method: &str, route: &str) -> Option<Need> {
    use routes::*;
    Some(match (method, route) {
        ("GET", HEALTH) | ("POST", REGISTER) | ("POST", LOGIN) | ("POST", REFRESH) => Need::Nobody,
        ("POST", DEVICE_START) | ("POST", DEVICE_EXCHANGE) | ("GET", DEVICE_PAGE) => Need::Nobody,
        ("POST", LOGOUT) | ("GET", ME) | ("POST", SWITCH_WORKSPACE) | ("POST", DEVICE_APPROVE) => Need::AnyMember,
        ("GET", WORKSPACES) | ("GET", MEMBERS) | ("POST", ACCEPT_INVITE) | ("GET", AUDIT) => Need::AnyMember,
        ("POST", INVITES) | ("POST", MEMBER_ROLE) | ("POST", PLAN) => Need::Admin,
        ("DELETE", MEMBER) | ("DELETE", INVITE) => Need::Admin,
        // Anyone leaves (the owner is refused with 409 `last_owner`, which only authorisation precedes).
        ("POST", LEAVE) => Need::AnyMember,
        ("GET", TEMPLATES) | ("GET", TEMPLATE) | ("GET", BUNDLE) | ("GET", RELEASES) => Need::AnyMember,
        ("GET", BUILDS) | ("GET", BUILD) | ("GET", BUILD_LOG) => Need::AnyMember,
        ("POST", TEMPLATES) | ("POST", VERSIONS) | ("PUT", BUNDLE) | ("POST", BUNDLE_GRANT) => Need::Writer,
        ("DELETE", TEMPLATE) | ("POST", TEMPLATE_ARCHIVE) | ("POST", TEMPLATE_RESTORE) | ("POST", TEMPLATE_PROMOTE) => {
            Need::Admin
        }
        ("POST", BUILD_RETRY) | ("POST", BUILD_RETRY_DEAD) => Need::Admin,
        ("GET", SESSIONS) | ("GET", SESSION) | ("GET", SESSION_EVENTS) | ("GET", USAGE) => Need::AnyMember,
        ("POST", SESSIONS) | ("DELETE", SESSION) | ("POST", SESSION_START) | ("POST", SESSION_STOP) => Need::Writer,
        ("POST", SESSION_RESTART) | ("POST", SESSION_RUNTIME_TOKEN) => Need::Writer,
        ("GET", ADMIN_REPORT) | ("POST", ADMIN_RECONCILE) => Need::Admin,
        ("GET", SESSION_LOGS) | ("POST", SESSION_PREVIEW) | ("ANY", RUNTIME_PREVIEW) => Need::AnyMember,
        ("ANY", RUNTIME_PREVIEW_ROOT) => Need::AnyMember,
        ("GET", SESSION_SSH) | ("GET", RUNTIME_TERMINAL) | ("GET", RUNTIME_SSH) => Need::Writer,
        ("GET", SNAPSHOTS) | ("GET", SNAPSHOT_CONTENT) => Need::AnyMember,
        ("POST", SNAPSHOTS) | ("PUT", SNAPSHOT_CONTENT) | ("POST", SNAPSHOT_GRANT) | ("DELETE", SNAPSHOT) => {
            Need::Writer
        }
        ("POST", SNAPSHOT_SAVE) | ("POST", SNAPSHOT_RESTORE) => Need::Writer,
        // The grant in the path is the credential.
        ("PUT", UPLOAD) => Need::Nobody,
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
    /// A template of the main workspace with one version and its build.
    template: String,
    version: String,
    build: String,
    /// A template the table deletes.
    doomed: String,
}

impl Caller {
    /// The role a caller of the main workspace has there (`None`: anonymous, the owner, the
    /// outsider, who are not joined through an invite).
    fn joined_role(self) -> Option<&'static str> {
        match self {
            Caller::Viewer => Some("viewer"),
            Caller::Member => Some("member"),
            Caller::Admin => Some("admin"),
            Caller::Anonymous | Caller::Owner | Caller::Outsider => None,
        }
    }
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
async fn request(
    api: &Api,
    world: &World,
    method: &str,
    route: &str,
    caller: Caller,
) -> (String, Value, Option<String>) {
    use routes::*;
    let mut token = world.account(caller).map(|a| a.token.clone());
    // Leaving and removal end a membership: each caller leaves, or removes someone, afresh.
    if let (LEAVE, Some(role)) = (route, caller.joined_role()) {
        token = Some(join(api, &world.owner, &register(api, "t-leaver").await, role).await.token);
    }
    let target = match route {
        MEMBER => join(api, &world.owner, &register(api, "t-removed").await, "member").await.user_id,
        _ => world.target.user_id.clone(),
    };
    let invite = match route {
        INVITE => {
            let body = json!({ "email": unique_email("t-revoked") });
            let r = api.post(INVITES, Some(&world.owner.token), body).await;
            r.body["invite"]["id"].as_str().expect("invite id").to_string()
        }
        _ => String::new(),
    };
    if let (LOGOUT, Some(account)) = (route, world.account(caller)) {
        let login = json!({ "email": account.email, "password": "correct horse battery", "kind": "api",
                            "workspaceId": account.workspace_id });
        let r = api.other_client().post(LOGIN, None, login).await;
        token = r.body["token"].as_str().map(str::to_owned);
    }
    let body = match route {
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
        TEMPLATES => json!({ "name": unique_name() }),
        VERSIONS => json!({ "version": unique_name(), "manifest": { "image": "node:22" } }),
        TEMPLATE_PROMOTE => json!({ "versionId": world.version }),
        BUNDLE_GRANT => json!({ "contentType": "application/gzip", "bytes": 100 }),
        SNAPSHOTS | SNAPSHOT_SAVE => json!({ "label": "authz" }),
        SNAPSHOT_GRANT => json!({ "contentType": "text/plain", "bytes": 10 }),
        // The template has no promoted version: a writer gets 409, which only authorisation precedes.
        SESSIONS => json!({ "name": unique_name(), "templateId": world.template }),
        _ => Value::Null,
    };
    let template = if route == TEMPLATE && method == "DELETE" { &world.doomed } else { &world.template };
    let concrete = route
        .replace("{user_id}", &target)
        .replace("{invite_id}", &invite)
        .replace("{template_id}", template)
        .replace("{version_id}", &world.version)
        .replace("{build_id}", &world.build)
        .replace("{grant}", "bfu_unknown")
        // A session id no one has: callers allowed past authorisation get 404.
        .replace("{session_id}", "ses_unknown")
        .replace("{snapshot_id}", "snap_unknown")
        .replace("{*path}", "index.html");
    (concrete, body, token)
}

/// What the outsider gets when a route names the main workspace or one of its members: members
/// of other workspaces are invisible (404), and switching into a workspace one does not belong to
/// is refused (403).
fn cross_workspace(caller: Caller, route: &str) -> Option<u16> {
    use routes::*;
    match (caller, route) {
        (Caller::Outsider, SWITCH_WORKSPACE) => Some(403),
        (Caller::Outsider, MEMBER_ROLE | TEMPLATE | TEMPLATE_ARCHIVE | TEMPLATE_RESTORE | TEMPLATE_PROMOTE) => {
            Some(404)
        }
        (Caller::Outsider, MEMBER | INVITE) => Some(404),
        (Caller::Outsider, VERSIONS | BUNDLE | BUNDLE_GRANT | BUILD | BUILD_LOG | BUILD_RETRY) => Some(404),
        (Caller::Outsider, SESSION | SESSION_EVENTS | SESSION_START | SESSION_STOP | SESSION_RESTART) => Some(404),
        (Caller::Outsider, SESSION_RUNTIME_TOKEN | SESSION_LOGS | SESSION_SSH | SESSION_PREVIEW) => Some(404),
        (Caller::Outsider, RUNTIME_TERMINAL | RUNTIME_SSH | RUNTIME_PREVIEW | RUNTIME_PREVIEW_ROOT) => Some(404),
        (Caller::Outsider, SNAPSHOTS | SNAPSHOT | SNAPSHOT_CONTENT | SNAPSHOT_GRANT) => Some(404),
        (Caller::Outsider, SNAPSHOT_SAVE | SNAPSHOT_RESTORE) => Some(404),
        _ => None,
    }
}

fn unique_name() -> String {
    unique_email("n").replace(['@', '.'], "-").chars().take(60).collect()
}

fn allowed(need: Need, caller: Caller) -> bool {
    match (need, caller) {
        (Need::Nobody, _) => true,
        (_, Caller::Anonymous) => false,
        (Need::AnyMember, _) => true,
        (Need::Writer, c) => !matches!(c, Caller::Viewer),
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
        template: String::new(),
        version: String::new(),
        build: String::new(),
        doomed: String::new(),
        owner,
    };
    let world = with_templates(api, world).await;
    let mut missing = Vec::new();
    for route in routes::ALL {
        let Some(need) = need(route.method, route.path) else {
            missing.push(format!("{} {}", route.method, route.path));
            continue;
        };
        assert_eq!(
            need == Need::Nobody,
            matches!(route.auth, Auth::None | Auth::Grant),
            "{} {}: table and contract disagree",
            route.method,
            route.path
        );
        for caller in CALLERS {
            let (path, body, token) = request(api, &world, route.method, route.path, caller).await;
            let client = api.other_client();
            // A route of every method (`ANY`) is probed with GET: `ANY` is no method on the wire.
            let method = if route.method == "ANY" { "GET" } else { route.method };
            let mut req = client.req(method, &path);
            if let Some(token) = &token {
                req = req.token(token);
            }
            if method != "GET" {
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

/// Adds a template with a version (and its build) and a template to delete to the world.
async fn with_templates(api: &Api, mut world: World) -> World {
    let token = world.owner.token.clone();
    let create = |name: &'static str| api.post(routes::TEMPLATES, Some(&token), json!({ "name": name }));
    let r = create("authz-main").await;
    world.template = r.body["template"]["id"].as_str().expect("template").to_string();
    let r = create("authz-doomed").await;
    world.doomed = r.body["template"]["id"].as_str().expect("template").to_string();
    let versions = routes::path(routes::VERSIONS, &[&world.template]);
    let r = api.post(&versions, Some(&token), json!({ "version": "1.0.0", "manifest": { "image": "node:22" } })).await;
    world.version = r.body["templateVersion"]["id"].as_str().expect("version").to_string();
    world.build = r.body["build"]["id"].as_str().expect("build").to_string();
    world
}
