//! The runtime routes in the Worker's Router. The Worker's fetch entry hands every
//! `/runtime/sessions/{id}/…` request to the session's Durable Object before the Router sees it,
//! so these answer only a request that reached the Router some other way: with a 503 saying
//! where runtime connections are served.

use crate::error::ApiError;
use axum::response::{IntoResponse, Response};
use burstflare_core::Code;

fn elsewhere() -> Response {
    ApiError::new(Code::RuntimeUnavailable, "Runtime connections are served by the session's Durable Object")
        .into_response()
}

pub async fn terminal() -> Response {
    elsewhere()
}

pub async fn ssh() -> Response {
    elsewhere()
}

pub async fn preview() -> Response {
    elsewhere()
}
