//! `GET /api/health`: liveness plus what this deployment is (version, storage, runtime).

use crate::app::AppState;
use axum::extract::State;
use axum::Json;
use burstflare_api::{HealthResponse, RuntimeInfo, API_VERSION};

pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let d = &state.deployment;
    Json(HealthResponse {
        ok: true,
        service: "burstflare".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        api_version: API_VERSION.to_string(),
        storage: d.storage.to_string(),
        runtime: RuntimeInfo { available: d.runtime_available, containers_enabled: d.containers_enabled },
    })
}
