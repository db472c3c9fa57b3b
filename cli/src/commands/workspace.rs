//! `burstflare workspace …`: list and switch workspaces, see members and pending invites, invite
//! by email, accept or revoke an invite, change a member's role, remove a member, leave, and
//! change the plan.

use super::auth::{begin_sign_in, signed_in};
use crate::args::WorkspaceCommand;
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::{table, Output};
use burstflare_api::{
    routes, AcceptInviteRequest, InviteRequest, InviteResponse, MembersResponse, MembershipResponse, PlanRequest,
    RemovedMemberResponse, RoleRequest, SwitchWorkspaceRequest, WorkspaceDto, WorkspaceResponse, WorkspacesResponse,
};
use reqwest::Method;
use serde_json::{json, Value};

pub async fn run(api: &mut Api, out: Output, command: WorkspaceCommand) -> Result<()> {
    match command {
        WorkspaceCommand::List => list(api, out).await,
        WorkspaceCommand::Switch { workspace_id } => {
            let raw = switch(api, workspace_id).await?;
            let sign_in = begin_sign_in(api, &raw).await?;
            out.show(&raw, || signed_in(&sign_in));
            Ok(())
        }
        WorkspaceCommand::Members => members(api, out).await,
        WorkspaceCommand::Invite { email, role } => invite(api, out, email, role).await,
        WorkspaceCommand::Accept { code, switch } => accept(api, out, code, switch).await,
        WorkspaceCommand::Role { user, role } => {
            let user_id = resolve_member(api, &user).await?;
            let raw = api.post(&routes::member_role(&user_id), body(&RoleRequest { role })).await?;
            let membership = parse::<MembershipResponse>(&raw)?.membership;
            out.show(&raw, || format!("{user} is now {} in this workspace.", membership.role));
            Ok(())
        }
        WorkspaceCommand::RemoveMember { user } => {
            let user_id = resolve_member(api, &user).await?;
            let raw = api.authed(Method::DELETE, &routes::member(&user_id), None).await?;
            let removed = parse::<RemovedMemberResponse>(&raw)?.membership;
            out.show(&raw, || format!("Removed {user} ({}) from this workspace.", removed.role));
            Ok(())
        }
        WorkspaceCommand::RevokeInvite { invite } => {
            let invite_id = resolve_invite(api, &invite).await?;
            let raw = api.authed(Method::DELETE, &routes::path(routes::INVITE, &[&invite_id]), None).await?;
            let revoked = parse::<InviteResponse>(&raw)?.invite;
            out.show(&raw, || {
                format!("Revoked the invite for {} ({}); its code no longer works.", revoked.email, revoked.id)
            });
            Ok(())
        }
        WorkspaceCommand::Leave => {
            let left = api.config().workspace_id().unwrap_or_default().to_string();
            let raw = api.post(routes::LEAVE, None).await?;
            // The server revoked the sign-in to the workspace left: adopt the new one as it is.
            let sign_in = api.adopt(&raw)?;
            out.show(&raw, || format!("Left workspace {left}.\n{}", signed_in(&sign_in)));
            Ok(())
        }
        WorkspaceCommand::Plan { plan } => {
            let raw = api.post(routes::PLAN, body(&PlanRequest { plan })).await?;
            let workspace: WorkspaceDto = parse(raw.get("workspace").unwrap_or(&Value::Null))?;
            out.show(&raw, || {
                format!(
                    "Workspace \"{}\" is now on the {} plan (up to {} templates and {} running sessions).",
                    workspace.name,
                    workspace.plan,
                    workspace.limits.max_templates,
                    workspace.limits.max_running_sessions
                )
            });
            Ok(())
        }
    }
}

async fn list(api: &mut Api, out: Output) -> Result<()> {
    let raw = api.get(routes::WORKSPACES).await?;
    let list: WorkspacesResponse = parse(&raw)?;
    let current = api.config().workspace_id().map(str::to_string);
    let rows: Vec<Vec<String>> = list
        .workspaces
        .iter()
        .map(|w| {
            let mark = if current.as_deref() == Some(w.id.as_str()) { "*" } else { "" };
            vec![
                mark.into(),
                w.id.clone(),
                w.name.clone(),
                w.role.to_string(),
                w.plan.to_string(),
                w.member_count.to_string(),
            ]
        })
        .collect();
    out.show(&raw, || table(&["", "ID", "NAME", "ROLE", "PLAN", "MEMBERS"], &rows));
    Ok(())
}

async fn switch(api: &mut Api, workspace_id: String) -> Result<Value> {
    api.post(routes::SWITCH_WORKSPACE, body(&SwitchWorkspaceRequest { workspace_id })).await
}

async fn members(api: &mut Api, out: Output) -> Result<()> {
    let raw = api.get(routes::MEMBERS).await?;
    let list: MembersResponse = parse(&raw)?;
    out.show(&raw, || {
        let rows: Vec<Vec<String>> = list
            .members
            .iter()
            .map(|m| {
                let joined = m.membership.created_at.clone();
                vec![
                    m.user.id.clone(),
                    m.user.email.clone(),
                    m.user.name.clone(),
                    m.membership.role.to_string(),
                    joined,
                ]
            })
            .collect();
        let mut text = table(&["USER ID", "EMAIL", "NAME", "ROLE", "JOINED"], &rows);
        if !list.invites.is_empty() {
            let rows: Vec<Vec<String>> = list
                .invites
                .iter()
                .map(|i| vec![i.id.clone(), i.email.clone(), i.role.to_string(), i.expires_at.clone()])
                .collect();
            text.push_str("\n\nPending invites:\n");
            text.push_str(&table(&["INVITE ID", "EMAIL", "ROLE", "EXPIRES"], &rows));
        }
        text
    });
    Ok(())
}

async fn invite(api: &mut Api, out: Output, email: String, role: Option<String>) -> Result<()> {
    let raw = api.post(routes::INVITES, body(&InviteRequest { email, role })).await?;
    let invite = parse::<InviteResponse>(&raw)?.invite;
    let code = invite
        .code
        .clone()
        .ok_or_else(|| CliError::new("bad_response", "the server created the invite but sent no code"))?;
    out.show(&raw, || {
        format!(
            "Invited {email} as {role} (expires {expires}).\n\n    Invite code: {code}\n\n\
             This code is shown only once. Send it to {email}, who runs:\n    burstflare workspace accept {code}",
            email = invite.email,
            role = invite.role,
            expires = invite.expires_at,
        )
    });
    Ok(())
}

async fn accept(api: &mut Api, out: Output, code: String, then_switch: bool) -> Result<()> {
    let raw = api.post(routes::ACCEPT_INVITE, body(&AcceptInviteRequest { invite_code: code })).await?;
    let workspace = parse::<WorkspaceResponse>(&raw)?.workspace;
    let joined = format!("Joined workspace \"{}\" ({}) as {}.", workspace.name, workspace.id, workspace.role);
    if !then_switch {
        out.show(&raw, || format!("{joined}\nRun `burstflare workspace switch {}` to use it.", workspace.id));
        return Ok(());
    }
    let switched = switch(api, workspace.id.clone()).await?;
    let sign_in = begin_sign_in(api, &switched).await?;
    out.show(&json!({ "accepted": raw, "switched": switched }), || format!("{joined}\n{}", signed_in(&sign_in)));
    Ok(())
}

/// A member's user id, from either the id itself or their email.
async fn resolve_member(api: &mut Api, user: &str) -> Result<String> {
    if !user.contains('@') {
        return Ok(user.to_string());
    }
    let list: MembersResponse = parse(&api.get(routes::MEMBERS).await?)?;
    list.members
        .into_iter()
        .find(|m| m.user.email.eq_ignore_ascii_case(user))
        .map(|m| m.user.id)
        .ok_or_else(|| CliError::new("member_not_found", format!("no member of this workspace has the email {user}")))
}

/// A pending invite's id, from either the id itself or the email it was sent to (which must match
/// exactly one pending invite).
async fn resolve_invite(api: &mut Api, invite: &str) -> Result<String> {
    if !invite.contains('@') {
        return Ok(invite.to_string());
    }
    let list: MembersResponse = parse(&api.get(routes::MEMBERS).await?)?;
    let mut found = list.invites.into_iter().filter(|i| i.email.eq_ignore_ascii_case(invite));
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one.id),
        (Some(_), Some(_)) => Err(CliError::new(
            "ambiguous_invite",
            format!("several pending invites were sent to {invite}; give the invite id (see `workspace members`)"),
        )),
        (None, _) => Err(CliError::new("invite_not_found", format!("no pending invite was sent to {invite}"))),
    }
}
