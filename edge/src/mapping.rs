//! Domain values to API DTOs: the only place that knows both shapes.

use burstflare_core::model::{AuditEntry, Invite, Member, Membership, User, WorkspaceView};
use burstflare_core::values::PlanLimits;
use burstflare_ports::{AuditDto, InviteDto, LimitsDto, MemberDto, MembershipDto, UserDto, WorkspaceDto};

pub fn user(u: &User) -> UserDto {
    UserDto {
        id: u.id.to_string(),
        email: u.email.as_str().to_string(),
        name: u.name.as_str().to_string(),
        created_at: u.created_at.to_iso(),
    }
}

pub fn limits(l: PlanLimits) -> LimitsDto {
    LimitsDto { max_templates: l.max_templates, max_running_sessions: l.max_running_sessions }
}

pub fn workspace(v: &WorkspaceView) -> WorkspaceDto {
    let w = &v.workspace;
    WorkspaceDto {
        id: w.id.to_string(),
        name: w.name.clone(),
        owner_user_id: w.owner_user_id.to_string(),
        plan: w.plan,
        created_at: w.created_at.to_iso(),
        role: v.role,
        member_count: v.member_count,
        limits: limits(v.limits),
    }
}

pub fn membership(m: &Membership) -> MembershipDto {
    MembershipDto {
        workspace_id: m.workspace_id.to_string(),
        user_id: m.user_id.to_string(),
        role: m.role,
        created_at: m.created_at.to_iso(),
    }
}

pub fn member(m: &Member) -> MemberDto {
    MemberDto { membership: membership(&m.membership), user: user(&m.user) }
}

pub fn invite(i: &Invite, code: Option<String>) -> InviteDto {
    InviteDto {
        id: i.id.to_string(),
        workspace_id: i.workspace_id.to_string(),
        email: i.email.clone(),
        role: i.role,
        status: i.status.as_str().to_string(),
        created_by_user_id: i.created_by_user_id.to_string(),
        created_at: i.created_at.to_iso(),
        expires_at: i.expires_at.to_iso(),
        accepted_at: i.accepted_at.map(|t| t.to_iso()),
        code,
    }
}

pub fn audit(a: &AuditEntry) -> AuditDto {
    AuditDto {
        id: a.id.to_string(),
        action: a.action.clone(),
        actor_user_id: a.actor_user_id.as_ref().map(ToString::to_string),
        workspace_id: a.workspace_id.as_ref().map(ToString::to_string),
        target_type: a.target_type.clone(),
        target_id: a.target_id.clone(),
        details: a.details.clone(),
        created_at: a.created_at.to_iso(),
    }
}
