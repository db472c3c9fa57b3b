//! Every route of the edge: method, path (axum syntax) and what credential it takes. The edge
//! builds its Router from `ALL` and mounts exactly these (a test enumerates what the Router
//! serves), and the authorisation table test fails for any route it does not cover.

/// The credential a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    None,
    /// An access token (bearer header, or the access cookie plus CSRF on mutations).
    Access,
    /// The one-time upload grant secret in the path.
    Grant,
    /// A session's runtime: an access token (bearer, or the access cookie from the server's own
    /// origin), or a runtime token in the `token` query parameter (browsers' WebSockets).
    Runtime,
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub auth: Auth,
}

const fn route(method: &'static str, path: &'static str, auth: Auth) -> Route {
    Route { method, path, auth }
}

pub const HEALTH: &str = "/api/health";
pub const REGISTER: &str = "/api/auth/register";
pub const LOGIN: &str = "/api/auth/login";
pub const REFRESH: &str = "/api/auth/refresh";
pub const LOGOUT: &str = "/api/auth/logout";
pub const ME: &str = "/api/auth/me";
pub const SWITCH_WORKSPACE: &str = "/api/auth/switch-workspace";
pub const DEVICE_START: &str = "/api/cli/device/start";
pub const DEVICE_APPROVE: &str = "/api/cli/device/approve";
pub const DEVICE_EXCHANGE: &str = "/api/cli/device/exchange";
/// The device-approval page's old address: redirects to the web app's `/approve`, keeping
/// `user_code` (the API's `verification_uri` is the new page).
pub const DEVICE_PAGE: &str = "/device";
pub const WORKSPACES: &str = "/api/workspaces";
pub const MEMBERS: &str = "/api/workspaces/current/members";
pub const INVITES: &str = "/api/workspaces/current/invites";
pub const ACCEPT_INVITE: &str = "/api/workspaces/current/invites/accept";
pub const MEMBER_ROLE: &str = "/api/workspaces/current/members/{user_id}/role";
/// One member of the current workspace (DELETE removes them).
pub const MEMBER: &str = "/api/workspaces/current/members/{user_id}";
/// One invite of the current workspace (DELETE revokes it).
pub const INVITE: &str = "/api/workspaces/current/invites/{invite_id}";
pub const LEAVE: &str = "/api/workspaces/current/leave";
pub const PLAN: &str = "/api/workspaces/current/plan";
pub const AUDIT: &str = "/api/audit";

pub const TEMPLATES: &str = "/api/templates";
pub const TEMPLATE: &str = "/api/templates/{template_id}";
pub const TEMPLATE_ARCHIVE: &str = "/api/templates/{template_id}/archive";
pub const TEMPLATE_RESTORE: &str = "/api/templates/{template_id}/restore";
pub const TEMPLATE_PROMOTE: &str = "/api/templates/{template_id}/promote";
pub const VERSIONS: &str = "/api/templates/{template_id}/versions";
pub const BUNDLE: &str = "/api/templates/{template_id}/versions/{version_id}/bundle";
pub const BUNDLE_GRANT: &str = "/api/templates/{template_id}/versions/{version_id}/bundle/upload";
pub const UPLOAD: &str = "/api/uploads/{grant}";
pub const BUILDS: &str = "/api/template-builds";
pub const BUILD: &str = "/api/template-builds/{build_id}";
pub const BUILD_LOG: &str = "/api/template-builds/{build_id}/log";
pub const BUILD_RETRY: &str = "/api/template-builds/{build_id}/retry";
pub const BUILD_RETRY_DEAD: &str = "/api/template-builds/retry-dead-lettered";
pub const RELEASES: &str = "/api/releases";

pub const SESSIONS: &str = "/api/sessions";
pub const SESSION: &str = "/api/sessions/{session_id}";
pub const SESSION_EVENTS: &str = "/api/sessions/{session_id}/events";
pub const SESSION_START: &str = "/api/sessions/{session_id}/start";
pub const SESSION_STOP: &str = "/api/sessions/{session_id}/stop";
pub const SESSION_RESTART: &str = "/api/sessions/{session_id}/restart";
pub const SESSION_RUNTIME_TOKEN: &str = "/api/sessions/{session_id}/runtime-token";
pub const SESSION_LOGS: &str = "/api/sessions/{session_id}/logs";
pub const SESSION_SSH: &str = "/api/sessions/{session_id}/ssh";
pub const SESSION_PREVIEW: &str = "/api/sessions/{session_id}/preview";
pub const RUNTIME_TERMINAL: &str = "/runtime/sessions/{session_id}/terminal";
pub const RUNTIME_SSH: &str = "/runtime/sessions/{session_id}/ssh";
/// The preview on the API's own origin, for API clients (sent with a sandboxing CSP; browsers
/// get the preview's own origin instead).
pub const RUNTIME_PREVIEW: &str = "/runtime/sessions/{session_id}/preview/{*path}";
/// The preview's root (`/` of the app), which the wildcard above does not match.
pub const RUNTIME_PREVIEW_ROOT: &str = "/runtime/sessions/{session_id}/preview/";
pub const SNAPSHOTS: &str = "/api/sessions/{session_id}/snapshots";
pub const SNAPSHOT: &str = "/api/sessions/{session_id}/snapshots/{snapshot_id}";
pub const SNAPSHOT_CONTENT: &str = "/api/sessions/{session_id}/snapshots/{snapshot_id}/content";
pub const SNAPSHOT_GRANT: &str = "/api/sessions/{session_id}/snapshots/{snapshot_id}/content/upload";
/// Saves a running session's persisted paths now (the runtime takes the archive).
pub const SNAPSHOT_SAVE: &str = "/api/sessions/{session_id}/snapshots/save";
/// Restores a snapshot into a running session's persisted paths.
pub const SNAPSHOT_RESTORE: &str = "/api/sessions/{session_id}/snapshots/{snapshot_id}/restore";
pub const USAGE: &str = "/api/usage";
pub const ADMIN_REPORT: &str = "/api/admin/report";
pub const ADMIN_RECONCILE: &str = "/api/admin/reconcile";

/// Fills a route's `{name}` placeholders in order.
pub fn path(route: &str, values: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = route;
    let mut values = values.iter();
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str(&rest[..start]);
        out.push_str(values.next().copied().unwrap_or(""));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `MEMBER_ROLE` for one user.
pub fn member_role(user_id: &str) -> String {
    MEMBER_ROLE.replace("{user_id}", user_id)
}

/// `MEMBER` for one user.
pub fn member(user_id: &str) -> String {
    MEMBER.replace("{user_id}", user_id)
}

/// Every route the edge serves (the API and `/device`, the approval page's old address); the
/// edge's Router is built from this list and mounts nothing else.
pub const ALL: &[Route] = &[
    route("GET", HEALTH, Auth::None),
    route("POST", REGISTER, Auth::None),
    route("POST", LOGIN, Auth::None),
    route("POST", REFRESH, Auth::None),
    route("POST", LOGOUT, Auth::Access),
    route("GET", ME, Auth::Access),
    route("POST", SWITCH_WORKSPACE, Auth::Access),
    route("POST", DEVICE_START, Auth::None),
    route("POST", DEVICE_APPROVE, Auth::Access),
    route("POST", DEVICE_EXCHANGE, Auth::None),
    route("GET", DEVICE_PAGE, Auth::None),
    route("GET", WORKSPACES, Auth::Access),
    route("GET", MEMBERS, Auth::Access),
    route("POST", INVITES, Auth::Access),
    route("POST", ACCEPT_INVITE, Auth::Access),
    route("POST", MEMBER_ROLE, Auth::Access),
    route("DELETE", MEMBER, Auth::Access),
    route("DELETE", INVITE, Auth::Access),
    route("POST", LEAVE, Auth::Access),
    route("POST", PLAN, Auth::Access),
    route("GET", AUDIT, Auth::Access),
    route("GET", TEMPLATES, Auth::Access),
    route("POST", TEMPLATES, Auth::Access),
    route("GET", TEMPLATE, Auth::Access),
    route("DELETE", TEMPLATE, Auth::Access),
    route("POST", TEMPLATE_ARCHIVE, Auth::Access),
    route("POST", TEMPLATE_RESTORE, Auth::Access),
    route("POST", TEMPLATE_PROMOTE, Auth::Access),
    route("POST", VERSIONS, Auth::Access),
    route("PUT", BUNDLE, Auth::Access),
    route("GET", BUNDLE, Auth::Access),
    route("POST", BUNDLE_GRANT, Auth::Access),
    route("PUT", UPLOAD, Auth::Grant),
    route("GET", BUILDS, Auth::Access),
    route("GET", BUILD, Auth::Access),
    route("GET", BUILD_LOG, Auth::Access),
    route("POST", BUILD_RETRY, Auth::Access),
    route("POST", BUILD_RETRY_DEAD, Auth::Access),
    route("GET", RELEASES, Auth::Access),
    route("GET", SESSIONS, Auth::Access),
    route("POST", SESSIONS, Auth::Access),
    route("GET", SESSION, Auth::Access),
    route("DELETE", SESSION, Auth::Access),
    route("GET", SESSION_EVENTS, Auth::Access),
    route("POST", SESSION_START, Auth::Access),
    route("POST", SESSION_STOP, Auth::Access),
    route("POST", SESSION_RESTART, Auth::Access),
    route("POST", SESSION_RUNTIME_TOKEN, Auth::Access),
    route("GET", SESSION_LOGS, Auth::Access),
    route("GET", SESSION_SSH, Auth::Access),
    route("POST", SESSION_PREVIEW, Auth::Access),
    route("GET", RUNTIME_TERMINAL, Auth::Runtime),
    route("GET", RUNTIME_SSH, Auth::Runtime),
    route("ANY", RUNTIME_PREVIEW, Auth::Runtime),
    route("ANY", RUNTIME_PREVIEW_ROOT, Auth::Runtime),
    route("GET", SNAPSHOTS, Auth::Access),
    route("POST", SNAPSHOTS, Auth::Access),
    route("DELETE", SNAPSHOT, Auth::Access),
    route("PUT", SNAPSHOT_CONTENT, Auth::Access),
    route("GET", SNAPSHOT_CONTENT, Auth::Access),
    route("POST", SNAPSHOT_GRANT, Auth::Access),
    route("POST", SNAPSHOT_SAVE, Auth::Access),
    route("POST", SNAPSHOT_RESTORE, Auth::Access),
    route("GET", USAGE, Auth::Access),
    route("GET", ADMIN_REPORT, Auth::Access),
    route("POST", ADMIN_RECONCILE, Auth::Access),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fill_placeholders_in_order() {
        assert_eq!(path(BUNDLE, &["tpl_1", "tplv_2"]), "/api/templates/tpl_1/versions/tplv_2/bundle");
        assert_eq!(path(TEMPLATES, &[]), "/api/templates");
        assert_eq!(member_role("usr_1"), "/api/workspaces/current/members/usr_1/role");
        assert_eq!(member("usr_1"), "/api/workspaces/current/members/usr_1");
        assert_eq!(path(INVITE, &["inv_1"]), "/api/workspaces/current/invites/inv_1");
    }
}
