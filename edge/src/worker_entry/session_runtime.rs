//! `SessionRuntime`, the Durable Object of one session (named by the session id; declared in
//! `wrangler.toml` with its container). The Worker forwards the session's lifecycle transitions
//! and runtime connections here (see [`super::routing`]); the object serves them with the same
//! Router as the Worker, its runtime being the object's own container
//! ([`ContainerDriver`]). Transitions run one at a time, so those of one session never
//! interleave; runtime connections do not wait for them. The Worker's own driver calls
//! (reconcile's status and stops, logs) arrive on the internal paths of
//! [`super::object_protocol`]. D1 stays the system of record; the object keeps only the
//! generation of its container's boot.
//!
//! A container that stops by itself (killed, crashed) fails its session at once: the object
//! watches each boot's container and, when it exits while its boot is still the current one,
//! reports it as the heartbeat would. The heartbeat alarm stays the fallback (an object
//! evicted and loaded again watches no longer until its next request or beat).

use super::container_driver::ContainerDriver;
use super::events::{compose_with, csrf_key, service_with, BLOBS};
use super::object_protocol::{self, decode, error_json, status_json, Call};
use crate::app::router;
use burstflare_adapters_cloudflare::{system_ports, R2BlobStore};
use burstflare_core::ids::{SessionId, WorkspaceId};
use burstflare_core::ports::RuntimeDriver;
use burstflare_core::Service;
use futures_util::lock::Mutex;
use std::sync::Arc;
use tower_service::Service as _;
// `#[durable_object]` expands to wasm-bindgen code that names the crate `wasm_bindgen`.
use worker::wasm_bindgen;
use worker::{durable_object, wasm_bindgen_futures, DurableObject, Env, HttpRequest, Request, Response, State};

#[durable_object(alarm)]
pub struct SessionRuntime {
    state: State,
    env: Env,
    /// Held for the whole of each transition. Without it the runtime would interleave requests
    /// whenever one awaits D1 (the input gate only covers the object's own storage).
    turn: Arc<Mutex<()>>,
    /// The boot whose container a watcher awaits (see [`SessionRuntime::watch`]).
    watched: std::sync::Mutex<Option<String>>,
    /// The object's one driver, made on its first request: every request sees the same boot
    /// generation (a start's new secret included) and nothing is loaded again.
    driver: Mutex<Option<Arc<ContainerDriver>>>,
    /// The object's use cases and HTTP application over that driver, composed on its first
    /// request and kept: the object's `env` and driver never change, and the bindings are not
    /// request-scoped (as the Worker's own application, see [`super::app_cache`]). The
    /// heartbeat and the exit watch report through the same `Service`.
    composed: std::sync::Mutex<Option<(Service, axum::Router)>>,
}

impl SessionRuntime {
    async fn driver(&self) -> worker::Result<Arc<ContainerDriver>> {
        let mut made = self.driver.lock().await;
        if let Some(driver) = made.as_ref() {
            return Ok(driver.clone());
        }
        let driver = self.load_driver().await?;
        *made = Some(driver.clone());
        Ok(driver)
    }

    /// The object's `Service` and Router (see the `composed` field); a failed
    /// composition (a missing binding or secret) is not kept, so every request reports it.
    fn composed(&self, driver: &Arc<ContainerDriver>) -> worker::Result<(Service, axum::Router)> {
        let mut composed = self.composed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(composed) = composed.as_ref() {
            return Ok(composed.clone());
        }
        let runtime: Arc<dyn RuntimeDriver> = driver.clone();
        let service = service_with(&self.env, Some(runtime))?;
        let built = (service.clone(), router(compose_with(&self.env, service)?));
        *composed = Some(built.clone());
        Ok(built)
    }

    async fn load_driver(&self) -> worker::Result<Arc<ContainerDriver>> {
        let blobs = Arc::new(R2BlobStore::new(self.env.bucket(BLOBS)?));
        let keys = csrf_key(&self.env)?.session_keys();
        let container = self.state.container();
        let driver = ContainerDriver::load(container, self.state.storage(), keys, blobs, system_ports().random).await?;
        Ok(Arc::new(driver))
    }

    /// One of the Worker's driver calls (see [`object_protocol`]).
    async fn internal(&self, mut req: Request, session: SessionId) -> worker::Result<Response> {
        if req.method() == worker::Method::Put && req.path() == object_protocol::RESTORE {
            let _turn = self.turn.lock().await;
            let driver = self.driver().await?;
            let mut archive = super::object_archive::Incoming::new(req.stream()?);
            return json_or_error(driver.restore(&session, &mut archive).await.map(|()| serde_json::json!({})));
        }
        let body = if req.method() == worker::Method::Post { req.bytes().await? } else { Vec::new() };
        let url = req.url()?;
        let call = match decode(req.method().as_ref(), url.path(), url.query(), &body) {
            Some(Ok(call)) => call,
            Some(Err(e)) => return Response::error(e, 400),
            None => return Response::error("not found", 404),
        };
        let driver = self.driver().await?;
        let response = self.answer(&driver, &session, call).await;
        if let Ok((service, _)) = self.composed(&driver) {
            self.watch(&driver, service);
        }
        response
    }

    async fn answer(&self, driver: &ContainerDriver, session: &SessionId, call: Call) -> worker::Result<Response> {
        let result = match call {
            Call::Start(spec) => {
                let _turn = self.turn.lock().await;
                driver.start(&spec).await.map(|()| serde_json::json!({}))
            }
            Call::Stop => {
                let _turn = self.turn.lock().await;
                driver.stop(session).await.map(|()| serde_json::json!({}))
            }
            Call::Status => driver.status(session).await.map(status_json),
            Call::Logs { max_bytes } => return text_or_error(driver.logs(session, max_bytes).await),
            Call::Save => {
                return match driver.save(session).await {
                    Ok(archive) => Response::from_stream(super::object_archive::outgoing(archive)),
                    Err(e) => json_or_error(Err(e)),
                }
            }
        };
        json_or_error(result)
    }
}

fn json_or_error(result: burstflare_core::ports::PortResult<serde_json::Value>) -> worker::Result<Response> {
    match result {
        Ok(value) => Response::from_json(&value),
        Err(e) => {
            let (status, value) = error_json(&e);
            Ok(Response::from_json(&value)?.with_status(status))
        }
    }
}

fn text_or_error(result: burstflare_core::ports::PortResult<String>) -> worker::Result<Response> {
    match result {
        Ok(text) => Response::ok(text),
        Err(e) => {
            let (status, value) = error_json(&e);
            Ok(Response::from_json(&value)?.with_status(status))
        }
    }
}

impl SessionRuntime {
    /// Watches the current boot's container, once per boot: when it exits while that boot is
    /// still current (a stop or a new start changes the boot first), the session is reported
    /// at once, under the turn, as [`beat`] does.
    fn watch(&self, driver: &Arc<ContainerDriver>, service: Service) {
        let Some(generation) = driver.generation() else { return };
        {
            let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
            if watched.as_deref() == Some(generation.as_str()) {
                return;
            }
            *watched = Some(generation.clone());
        }
        let (turn, driver) = (self.turn.clone(), driver.clone());
        wasm_bindgen_futures::spawn_local(async move {
            driver.exited().await;
            let _turn = turn.lock().await;
            if driver.generation().as_deref() != Some(generation.as_str()) {
                return;
            }
            if let Err(e) = beat(&service, &driver, "exit").await {
                tracing::warn!(error = %e, "could not report an exited container");
            }
        });
    }
}

/// The heartbeat: keeps a running container's object (and so the container) alive, and fails
/// the session, with its reason, when the container stopped by itself. `noticed` says what
/// noticed it for the log: the container's `exit` (see [`SessionRuntime::watch`]) or the
/// `heartbeat` alarm.
async fn beat(service: &Service, driver: &ContainerDriver, noticed: &'static str) -> worker::Result<()> {
    let running = driver.heartbeat().await.map_err(|e| worker::Error::RustError(e.to_string()))?;
    let Some([workspace, session]) = running else { return Ok(()) };
    let session = SessionId::from_raw(session);
    let failed = service.check_runtime_of(&WorkspaceId::from_raw(workspace), &session).await;
    match failed {
        Ok(failed) => tracing::info!(session = %session.as_str(), failed, noticed, "container stopped by itself"),
        Err(e) => tracing::warn!(session = %session.as_str(), error = %e, "could not record a stopped container"),
    }
    driver.forget().await.map_err(|e| worker::Error::RustError(e.to_string()))
}

impl DurableObject for SessionRuntime {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            turn: Arc::new(Mutex::new(())),
            driver: Mutex::new(None),
            composed: Default::default(),
            watched: Default::default(),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let path = req.path();
        if path.starts_with(object_protocol::PREFIX) {
            // The Worker names the session it chose this object for (only the Worker reaches
            // internal paths).
            let session = req.headers().get(object_protocol::SESSION_HEADER)?.map(SessionId::from_raw);
            let Some(session) = session else { return Response::error("which session?", 400) };
            return self.internal(req, session).await;
        }
        // Runtime connections (a terminal kept open for hours) never hold the turn.
        let _turn = if path.starts_with("/runtime/") { None } else { Some(self.turn.lock().await) };
        let driver = self.driver().await?;
        let (service, mut app) = self.composed(&driver)?;
        let mut request = HttpRequest::try_from(req)?;
        request.extensions_mut().insert(driver.clone());
        let response = app.call(request).await?;
        self.watch(&driver, service);
        Response::try_from(response)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let _turn = self.turn.lock().await;
        let driver = self.driver().await?;
        let (service, _) = self.composed(&driver)?;
        beat(&service, &driver, "heartbeat").await?;
        self.watch(&driver, service);
        Response::ok("")
    }
}
