//! Workspace routes: list, members and invites, accept, role and plan changes, and the audit log.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::mapping;
use axum::extract::State;
use axum::Json;
use burstflare_api::{
    AcceptInviteRequest, AuditResponse, InviteRequest, InviteResponse, MembersResponse, MembershipResponse,
    PlanRequest, RoleRequest, WorkspaceResponse, WorkspacesResponse,
};
use burstflare_core::ids::UserId;
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
