//! Workspace routes: list, members and invites, accept, role and plan changes, removing a member,
//! revoking an invite, leaving, and the audit log.

use super::sign_in_response;
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{cookie_names, ApiJson, ApiPath, ApiQuery, Authed};
use crate::mapping;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Json;
use burstflare_api::{
    AcceptInviteRequest, AuditResponse, InviteRequest, InviteResponse, MembersResponse, MembershipResponse,
    PlanRequest, RemovedMemberResponse, RoleRequest, WorkspaceResponse, WorkspacesResponse,
};
use burstflare_core::ids::{InviteId, UserId};
use serde::Deserialize;

pub async fn list(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<WorkspacesResponse>> {
    let views = state.service.list_workspaces(&actor).await?;
    Ok(Json(WorkspacesResponse { workspaces: views.iter().map(mapping::workspace).collect() }))
}

pub async fn members(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<MembersResponse>> {
    let (members, invites) = state.service.members(&actor).await?;
    Ok(Json(MembersResponse {
        members: members.iter().map(mapping::member).collect(),
        invites: invites.iter().map(|i| mapping::invite(i, None)).collect(),
    }))
}

pub async fn invite(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<InviteRequest>,
) -> ApiResult<Json<InviteResponse>> {
    let (invite, code) = state.service.create_invite(&actor, &req.email, req.role.as_deref()).await?;
    Ok(Json(InviteResponse { invite: mapping::invite(&invite, Some(code.expose().to_string())) }))
}

pub async fn accept(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<AcceptInviteRequest>,
) -> ApiResult<Json<WorkspaceResponse>> {
    let view = state.service.accept_invite(&actor, &req.invite_code).await?;
    Ok(Json(WorkspaceResponse { workspace: mapping::workspace(&view) }))
}

pub async fn set_role(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> ApiResult<Json<MembershipResponse>> {
    let membership = state.service.set_member_role(&actor, &UserId::from_raw(user_id), &req.role).await?;
    Ok(Json(MembershipResponse { membership: mapping::membership(&membership) }))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(user_id): ApiPath<String>,
) -> ApiResult<Json<RemovedMemberResponse>> {
    let membership = state.service.remove_member(&actor, &UserId::from_raw(user_id)).await?;
    Ok(Json(RemovedMemberResponse { ok: true, membership: mapping::membership(&membership) }))
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(invite_id): ApiPath<String>,
) -> ApiResult<Json<InviteResponse>> {
    let invite = state.service.revoke_invite(&actor, &InviteId::from_raw(invite_id)).await?;
    Ok(Json(InviteResponse { invite: mapping::invite(&invite, None) }))
}

/// Leaves the current workspace; answers with a sign-in to the caller's fallback workspace (and,
/// for browsers, its cookies), as switching does.
pub async fn leave(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    let sign_in = state.service.leave_workspace(&actor).await?;
    Ok(sign_in_response(&state, sign_in, cookie_names(&state, &headers, &uri)))
}

pub async fn set_plan(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<PlanRequest>,
) -> ApiResult<Json<WorkspaceResponse>> {
    let view = state.service.set_plan(&actor, &req.plan).await?;
    Ok(Json(WorkspaceResponse { workspace: mapping::workspace(&view) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<u32>,
}

pub async fn audit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditResponse>> {
    let entries = state.service.audit_log(&actor, q.limit).await?;
    Ok(Json(AuditResponse { audit: entries.iter().map(mapping::audit).collect() }))
}
