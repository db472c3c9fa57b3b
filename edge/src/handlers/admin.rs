//! Admin routes: the workspace report and a reconcile pass scoped to the workspace.

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::Authed;
use crate::mapping;
use axum::extract::State;
use axum::Json;
use burstflare_api::{ReconcileResponse, ReportDto, ReportResponse};

pub async fn report(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<ReportResponse>> {
    let r = state.service.admin_report(&actor).await?;
    Ok(Json(ReportResponse {
        report: ReportDto {
            workspace: mapping::workspace(&r.workspace),
            members: r.members,
            templates: r.templates,
            templates_archived: r.templates_archived,
            builds_queued: r.builds_queued,
            builds_failed: r.builds_failed,
            builds_dead_lettered: r.builds_dead_lettered,
            sessions_running: r.sessions_running,
            sessions_sleeping: r.sessions_sleeping,
            sessions_failed: r.sessions_failed,
            sessions_stale_eligible: r.sessions_stale_eligible,
            sessions_total: r.sessions_total,
            releases: r.releases,
        },
    }))
}

pub async fn reconcile(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<ReconcileResponse>> {
    let sweep = state.service.reconcile_workspace(&actor).await?;
    Ok(Json(ReconcileResponse {
        slept_sessions: sweep.slept,
        failed_sessions: sweep.failed,
        recovered_sessions: sweep.recovered,
        purged_deleted_sessions: sweep.purged_deleted,
        purged_stale_sleeping_sessions: sweep.purged_stale,
        purged_snapshots: sweep.purged_snapshots,
    }))
}
