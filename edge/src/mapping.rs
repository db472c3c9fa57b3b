//! Domain values to API DTOs: the only place that knows both shapes.

use burstflare_api::{
    ArtifactDto, AuditDto, BuildDto, BundleDto, InviteDto, LimitsDto, MemberDto, MembershipDto, ReleaseDto, SessionDto,
    SessionEventDto, TemplateDto, UserDto, VersionDto, WorkspaceDto,
};
use burstflare_core::model::{
    AuditEntry, Build, Invite, Member, Membership, Release, SessionEvent, TemplateVersion, User, VersionStatus,
    WorkspaceView,
};
use burstflare_core::service::{SessionView, TemplateView};
use burstflare_core::values::PlanLimits;

pub fn user(u: &User) -> UserDto {
    UserDto {
        id: u.id.to_string(),
        email: u.email.as_str().to_string(),
        name: u.name.as_str().to_string(),
        created_at: u.created_at.to_iso(),
    }
}

pub fn limits(l: PlanLimits) -> LimitsDto {
    LimitsDto {
        max_templates: l.max_templates,
        max_running_sessions: l.max_running_sessions,
        max_snapshot_bytes: l.max_snapshot_bytes,
    }
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
        email: i.email.as_str().to_string(),
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

pub fn build(b: &Build) -> BuildDto {
    BuildDto {
        id: b.id.to_string(),
        template_id: b.template_id.to_string(),
        template_version_id: b.version_id.to_string(),
        status: b.status.as_str().to_string(),
        attempts: b.attempts,
        last_error: b.last_error.clone(),
        artifact: b.artifact.as_ref().map(|a| ArtifactDto {
            digest: a.digest.clone(),
            file_count: a.file_count,
            unpacked_bytes: a.unpacked_bytes,
        }),
        created_at: b.created_at.to_iso(),
        updated_at: b.updated_at.to_iso(),
        started_at: b.started_at.map(|t| t.to_iso()),
        finished_at: b.finished_at.map(|t| t.to_iso()),
        dead_lettered_at: b.dead_lettered_at.map(|t| t.to_iso()),
    }
}

pub fn version(v: &TemplateVersion, b: Option<&Build>) -> VersionDto {
    let status = match v.status {
        VersionStatus::Queued => "queued",
        VersionStatus::Building => "building",
        VersionStatus::Ready => "ready",
        VersionStatus::Failed => "failed",
    };
    VersionDto {
        id: v.id.to_string(),
        template_id: v.template_id.to_string(),
        version: v.label.clone(),
        notes: v.notes.clone(),
        manifest: v.manifest.to_json(),
        status: status.to_string(),
        bundle: v.bundle.as_ref().map(|b| BundleDto {
            content_type: b.content_type.clone(),
            bytes: b.bytes,
            uploaded_at: b.uploaded_at.to_iso(),
        }),
        created_by_user_id: v.created_by_user_id.to_string(),
        created_at: v.created_at.to_iso(),
        built_at: v.built_at.map(|t| t.to_iso()),
        build: b.map(build),
    }
}

pub fn template(view: &TemplateView) -> TemplateDto {
    let t = &view.template;
    let versions: Vec<VersionDto> = view.versions.iter().map(|(v, b)| version(v, b.as_ref())).collect();
    let active = t.active_version_id.as_ref().and_then(|id| versions.iter().find(|v| v.id == id.as_str()).cloned());
    TemplateDto {
        id: t.id.to_string(),
        workspace_id: t.workspace_id.to_string(),
        name: t.name.as_str().to_string(),
        description: t.description.clone(),
        active_version_id: t.active_version_id.as_ref().map(ToString::to_string),
        active_version: active,
        archived_at: t.archived_at.map(|x| x.to_iso()),
        archived_by_user_id: t.archived_by_user_id.as_ref().map(ToString::to_string),
        created_by_user_id: t.created_by_user_id.to_string(),
        created_at: t.created_at.to_iso(),
        versions,
    }
}

pub fn release(r: &Release) -> ReleaseDto {
    ReleaseDto {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.to_string(),
        template_id: r.template_id.to_string(),
        template_version_id: r.version_id.to_string(),
        created_by_user_id: r.created_by_user_id.to_string(),
        created_at: r.created_at.to_iso(),
    }
}

pub fn session(view: &SessionView) -> SessionDto {
    let s = &view.session;
    SessionDto {
        id: s.id.to_string(),
        workspace_id: s.workspace_id.to_string(),
        template_id: s.template_id.to_string(),
        template_version_id: s.version_id.to_string(),
        template_name: view.template_name.clone(),
        name: s.name.as_str().to_string(),
        state: s.state.as_str().to_string(),
        state_detail: s.state_detail.clone(),
        created_by_user_id: s.created_by_user_id.to_string(),
        created_at: s.created_at.to_iso(),
        updated_at: s.updated_at.to_iso(),
        last_started_at: s.last_started_at.map(|t| t.to_iso()),
        last_stopped_at: s.last_stopped_at.map(|t| t.to_iso()),
        last_active_at: s.last_active_at.map(|t| t.to_iso()),
        sleep_ttl_seconds: s.sleep_ttl_seconds,
        idle_timeout_seconds: s.idle_timeout_seconds,
        preview_url: format!("/runtime/sessions/{}/preview", s.id),
    }
}

pub fn session_event(e: &SessionEvent) -> SessionEventDto {
    SessionEventDto {
        id: e.id.to_string(),
        session_id: e.session_id.to_string(),
        state: e.state.as_str().to_string(),
        details: e.details.clone(),
        created_at: e.created_at.to_iso(),
    }
}

/// A snapshot as the API shows it; `latest` is the session's latest good snapshot's id.
pub fn snapshot(
    s: &burstflare_core::model::Snapshot,
    latest: Option<&burstflare_core::ids::SnapshotId>,
) -> burstflare_api::SnapshotDto {
    let c = s.content.as_ref();
    burstflare_api::SnapshotDto {
        id: s.id.to_string(),
        session_id: s.session_id.to_string(),
        workspace_id: s.workspace_id.to_string(),
        label: s.label.clone(),
        kind: s.kind.as_str().to_string(),
        object_key: c.map(|c| c.key.clone()),
        uploaded_at: c.map(|c| c.uploaded_at.to_iso()),
        content_type: c.map(|c| c.content_type.clone()),
        bytes: s.stored_bytes(),
        sha256: c.map(|c| c.sha256.clone()),
        latest: latest == Some(&s.id),
        created_by_user_id: s.created_by_user_id.as_ref().map(ToString::to_string),
        created_at: s.created_at.to_iso(),
    }
}

/// Every snapshot of a list, oldest first.
pub fn snapshots(list: &burstflare_core::service::SnapshotList) -> Vec<burstflare_api::SnapshotDto> {
    list.snapshots.iter().map(|s| snapshot(s, list.latest.as_ref())).collect()
}
