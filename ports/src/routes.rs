//! Every route of the API: method, path (axum syntax) and what credential it takes. The edge
//! mounts exactly these, and the authorisation table test fails for any route it does not cover.

/// The credential a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    None,
    /// An access token (bearer header, or the session cookie plus CSRF on mutations).
    Access,
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
pub const WORKSPACES: &str = "/api/workspaces";
pub const MEMBERS: &str = "/api/workspaces/current/members";
pub const INVITES: &str = "/api/workspaces/current/invites";
pub const ACCEPT_INVITE: &str = "/api/workspaces/current/invites/accept";
pub const MEMBER_ROLE: &str = "/api/workspaces/current/members/{user_id}/role";
pub const PLAN: &str = "/api/workspaces/current/plan";
pub const AUDIT: &str = "/api/audit";

/// `MEMBER_ROLE` for one user.
pub fn member_role(user_id: &str) -> String {
    MEMBER_ROLE.replace("{user_id}", user_id)
}

/// Every API route.
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
    route("GET", WORKSPACES, Auth::Access),
    route("GET", MEMBERS, Auth::Access),
    route("POST", INVITES, Auth::Access),
    route("POST", ACCEPT_INVITE, Auth::Access),
    route("POST", MEMBER_ROLE, Auth::Access),
    route("POST", PLAN, Auth::Access),
    route("GET", AUDIT, Auth::Access),
];
