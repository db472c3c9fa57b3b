//! The Cloudflare Worker's event handlers (wasm32 only): the same Router as the native server
//! behind `fetch` (a session's transitions and runtime connections pass through its
//! `SessionRuntime` object first, see [`super::routing`]), the queue consumer that runs jobs
//! (ack on success, retry otherwise, so a job that keeps failing ends in the dead-letter queue),
//! and the cron trigger that enqueues reconcile. Browser paths get the web app
//! ([`super::web_assets`]).
//! Adapters are picked in [`compose`], from the bindings of `wrangler.toml`; sessions run in
//! Cloudflare Containers, each owned by its session's object.

use super::object_driver::ObjectDriver;
use super::{app_cache, logging, routing, settings};
use crate::app::{AppState, ClientIpSource, Deployment};
use crate::csrf::CsrfKey;
use crate::jobs::{self, Disposition};
use burstflare_adapters_cloudflare::{d1_storage, system_ports, QueueJobs, R2BlobStore};
use burstflare_core::ports::{Job, JobQueue, Ports, RuntimeDriver};
use burstflare_core::{Config, Service};
use std::sync::Arc;
use tower_service::Service as _;
use worker::{event, Context, Env, HttpRequest, MessageBatch, MessageExt, Request, ScheduleContext, ScheduledEvent};

/// The D1 binding holding all metadata.
const DB: &str = "DB";
/// The R2 bucket holding bundles and build logs.
pub(super) const BLOBS: &str = "BLOBS";
/// The queue every job (builds, reconcile) travels through; the cron trigger enqueues reconcile.
const JOBS: &str = "JOBS";
/// The secret browsers' CSRF tokens are derived from (`wrangler secret put CSRF_KEY`).
pub(super) const CSRF_KEY: &str = "CSRF_KEY";
/// The Durable Object namespace of `SessionRuntime`, one object per session.
const SESSIONS: &str = "SESSIONS";
/// Where the platform moves messages that failed all their attempts (see wrangler.toml).
const DEAD_LETTER_QUEUE: &str = "burstflare-dead-letter";

/// Whether this deployment runs session containers: the `RUNTIME` variable (`containers`, the
/// default; `none` for a Worker without them, e.g. `wrangler dev` on a machine without Docker).
pub(super) fn containers_enabled(env: &Env) -> bool {
    env.var("RUNTIME").map(|v| v.to_string()).ok().as_deref() != Some("none")
}

/// The key browsers' CSRF tokens and every session's keys are derived from.
pub(super) fn csrf_key(env: &Env) -> worker::Result<CsrfKey> {
    env.secret(CSRF_KEY)
        .map_err(|_| worker::Error::RustError(format!("the {CSRF_KEY} secret is not set (wrangler secret put)")))
        .and_then(|key| CsrfKey::new(key.to_string()).map_err(|e| worker::Error::RustError(format!("{CSRF_KEY}: {e}"))))
}

/// The use cases over the Worker's bindings: D1 for storage, R2 for objects, Queues for jobs
/// (the platform runs the consumer, [`queue`]), the runtime's clock, randomness and WebCrypto
/// hashing, and `runtime` for sessions (with the keys their agents are given).
pub(super) fn service_with(env: &Env, runtime: Option<Arc<dyn RuntimeDriver>>) -> worker::Result<Service> {
    let blobs = Arc::new(R2BlobStore::new(env.bucket(BLOBS)?));
    let jobs = Arc::new(QueueJobs::new(env.queue(JOBS)?));
    let mut ports = Ports::new(d1_storage(env.d1(DB)?), blobs, jobs, system_ports());
    if let (Some(runtime), true) = (runtime, containers_enabled(env)) {
        ports = ports.with_runtime(runtime, csrf_key(env)?.session_keys());
    }
    Ok(Service::new(ports, config(env)?))
}

/// The use cases' configuration from the Worker's variables (see [`super::settings`]); a bad
/// value fails every request with a message naming the variable, like a missing `CSRF_KEY`.
fn config(env: &Env) -> worker::Result<Config> {
    let limit = env.var(settings::SNAPSHOT_LIMIT_MIB).ok().map(|v| v.to_string());
    settings::config(limit.as_deref()).map_err(worker::Error::RustError)
}

/// The use cases outside the session objects (the queue consumer, the cron trigger, the
/// Worker's own routes): the runtime is reached through each session's object.
fn service(env: &Env) -> worker::Result<Service> {
    let objects: Arc<dyn RuntimeDriver> = Arc::new(ObjectDriver::new(env.durable_object(SESSIONS)?));
    service_with(env, Some(objects))
}

/// Builds the HTTP application state from the Worker's bindings.
pub(super) fn compose(env: &Env) -> worker::Result<AppState> {
    compose_with(env, service(env)?)
}

/// The HTTP application state over `service` (the `SessionRuntime` object passes its own, whose
/// runtime is its container).
pub(super) fn compose_with(env: &Env, service: Service) -> worker::Result<AppState> {
    // Production trusts only Cloudflare's own header; local runs may name another (see
    // scripts/test-worker), read like a single trusted proxy's.
    let client_ip = match env.var("CLIENT_IP_HEADER").map(|v| v.to_string()).as_deref() {
        Ok("x-forwarded-for") => ClientIpSource::ForwardedFor { trusted_hops: 1 },
        _ => ClientIpSource::CfConnectingIp,
    };
    // Without its key the Worker cannot check a browser's CSRF token: it refuses to serve HTTP.
    let csrf = csrf_key(env)?;
    let containers = containers_enabled(env);
    Ok(AppState {
        service,
        deployment: Deployment { storage: "d1", runtime_available: containers, containers_enabled: containers },
        client_ip,
        force_secure_cookies: false,
        csrf,
        preview_domain: None,
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    logging::init();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<axum::http::Response<axum::body::Body>> {
    if let Some(session) = routing::session_of(req.method().as_ref(), &req.path()) {
        // Forwarded whole (headers, body, an `Upgrade`): the object runs the same Router, so
        // authentication and CSRF are checked there exactly as here.
        let stub = env.durable_object(SESSIONS)?.id_from_name(&session)?.get_stub()?;
        return Ok(stub.fetch_with_request(req).await?.into());
    }
    if super::web_assets::is_app_request(&req) {
        return super::web_assets::serve(req, &env).await;
    }
    // The isolate's application (built on its first request, see `app_cache`), not a new one.
    Ok(app_cache::app(&env)?.call(HttpRequest::try_from(req)?).await?)
}

#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    if batch.queue() == DEAD_LETTER_QUEUE {
        // Kept visible in the logs with their ids; acked so they are not redelivered forever.
        for message in batch.messages()? {
            tracing::error!(id = %message.id(), body = %message.body(), "job dead-lettered after its retries");
            message.ack();
        }
        return Ok(());
    }
    let service = service(&env)?;
    for message in batch.messages()? {
        match jobs::handle(&service, message.body()).await {
            Disposition::Ack => message.ack(),
            Disposition::Retry(_) => message.retry(),
        }
    }
    Ok(())
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let job = Job::Reconcile { source: Some(format!("cron {}", event.cron())) };
    let sent = match env.queue(JOBS) {
        Ok(queue) => QueueJobs::new(queue).enqueue(job.clone(), 0).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = sent {
        // Without the queue, reconcile right away rather than skipping the tick.
        tracing::warn!(%error, "could not enqueue reconcile; running it now");
        match service(&env) {
            Ok(service) => match service.run_job(&job).await {
                Ok(outcome) => tracing::info!(?outcome, "reconcile done"),
                Err(error) => tracing::error!(%error, "reconcile failed"),
            },
            Err(error) => tracing::error!(%error, "bindings missing"),
        }
    }
}
