//! The Cloudflare Containers driver: [`RuntimeDriver`] inside a session's Durable Object, over
//! the object's own container. Start boots the container with the agent's configuration (a
//! plain options object, see [`super::container_options`]), waits until the agent answers
//! `/health`, then uploads the template's bundle (`PUT /bundle`); stop asks the agent to shut
//! down and destroys the container; status and logs ask the agent; save and restore stream the
//! persisted paths' archive from and to the agent (`GET`/`PUT /persist`). The boot's generation (which
//! the agent's secret is derived from) is kept in the object's storage, so a later request, or
//! the object after an eviction, still reaches the same agent.

use super::agent_archive::AgentArchive;
use super::agent_client;
use super::container_options::{agent_config, start_options};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use burstflare_core::blob::{BlobStore, ByteStream};
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{
    AgentAddress, AgentEndpoint, PortResult, Random, RuntimeDriver, RuntimeSpec, RuntimeStatus, ARCHIVE_HEADER,
};
use burstflare_core::session_keys::SessionKeys;
use burstflare_core::time::Timestamp;
use http_body_util::BodyExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker::send::{SendFuture, SendWrapper};
use worker::wasm_bindgen::JsCast;
use worker::{Container, Storage};

/// The object's storage key of the current boot's generation.
const GENERATION: &str = "agent-generation";
/// The object's storage key of the running session's workspace and id (the heartbeat reports
/// on them).
const RUNNING: &str = "running-session";
/// Between two heartbeats of a running container. An object that handles nothing is evicted,
/// and its container with it (after ~10 s under `wrangler dev`, a minute or two on Cloudflare);
/// the heartbeat alarm keeps it, and notices a container that stopped by itself.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a start may take until the agent answers.
const START_DEADLINE_MS: f64 = 30_000.0;
/// Between two health checks while starting.
const POLL: Duration = Duration::from_millis(100);

pub struct ContainerDriver {
    /// `None` when the deployment runs without containers (`wrangler dev --enable-containers=false`).
    container: Option<Container>,
    storage: SendWrapper<Storage>,
    keys: SessionKeys,
    blobs: Arc<dyn BlobStore>,
    random: Arc<dyn Random>,
    generation: Mutex<Option<String>>,
}

pub(super) fn other(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Other(format!("{what}: {e}"))
}

impl ContainerDriver {
    /// The driver of the object's container, with the generation its storage remembers.
    pub async fn load(
        container: Option<Container>,
        storage: Storage,
        keys: SessionKeys,
        blobs: Arc<dyn BlobStore>,
        random: Arc<dyn Random>,
    ) -> worker::Result<Self> {
        let storage = SendWrapper::new(storage);
        let generation: Option<String> = storage.get(GENERATION).await?;
        Ok(Self { container, storage, keys, blobs, random, generation: Mutex::new(generation) })
    }

    fn container(&self) -> PortResult<&Container> {
        self.container.as_ref().ok_or_else(|| PortError::Unavailable("this deployment runs without containers".into()))
    }

    /// The current boot's secret, while one is recorded.
    pub fn secret(&self, session: &SessionId) -> Option<String> {
        let generation = self.generation()?;
        Some(self.keys.agent_secret(session, &generation))
    }

    /// The current boot's generation, while one is recorded.
    pub fn generation(&self) -> Option<String> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves once the container is not running: at once when it is not, or when it exits
    /// (killed, crashed, destroyed by a stop).
    pub async fn exited(&self) {
        if let Some(container) = self.container.as_ref().filter(|c| c.running()) {
            let _ = SendFuture::new(container.wait_for_exit()).await;
        }
    }

    /// The container, running, with the current boot's secret.
    pub fn running(&self, session: &SessionId) -> Option<(&Container, String)> {
        let container = self.container.as_ref().filter(|c| c.running())?;
        Some((container, self.secret(session)?))
    }

    async fn remember(&self, generation: Option<String>) -> PortResult<()> {
        let storage = &self.storage;
        let stored = generation.clone();
        SendFuture::new(async move {
            match stored {
                Some(g) => storage.put(GENERATION, g).await,
                None => storage.delete(GENERATION).await.map(|_| ()),
            }
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("the object's storage: {e}")))?;
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) = generation;
        Ok(())
    }

    /// Records the running session (`[workspace, session]`) and arms the heartbeat (`Some`),
    /// or forgets both (`None`).
    async fn arm(&self, running: Option<[String; 2]>) -> PortResult<()> {
        let storage = &self.storage;
        SendFuture::new(async move {
            match running {
                Some(running) => {
                    storage.put(RUNNING, running).await?;
                    storage.set_alarm(HEARTBEAT).await
                }
                None => {
                    storage.delete_alarm().await?;
                    storage.delete(RUNNING).await.map(|_| ())
                }
            }
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("the object's storage: {e}")))
    }

    /// One heartbeat: `None` while all is well (the next one is armed) or nothing runs;
    /// `Some([workspace, session])` when a boot is recorded but its container stopped by
    /// itself, which the caller reports (the session fails with the reason) before the record
    /// is dropped.
    pub async fn heartbeat(&self) -> PortResult<Option<[String; 2]>> {
        if self.generation().is_none() {
            return Ok(None);
        }
        if self.container.as_ref().is_some_and(|c| c.running()) {
            let storage = &self.storage;
            SendFuture::new(storage.set_alarm(HEARTBEAT))
                .await
                .map_err(|e| PortError::Unavailable(format!("the object's storage: {e}")))?;
            return Ok(None);
        }
        let storage = &self.storage;
        let running: Option<[String; 2]> = SendFuture::new(storage.get(RUNNING))
            .await
            .map_err(|e| PortError::Unavailable(format!("the object's storage: {e}")))?;
        Ok(running)
    }

    /// Forgets a boot whose container is gone (after the heartbeat reported it).
    pub async fn forget(&self) -> PortResult<()> {
        self.arm(None).await?;
        self.remember(None).await
    }

    async fn wait_until_healthy(&self, container: &Container, secret: &str) -> PortResult<()> {
        let deadline = worker::js_sys::Date::now() + START_DEADLINE_MS;
        loop {
            let answer = agent_client::call(container, secret, Method::GET, "/health", Body::empty()).await;
            if answer.is_ok_and(|r| r.status() == StatusCode::OK) {
                return Ok(());
            }
            if !container.running() {
                return Err(PortError::Other("the container exited before its agent answered".into()));
            }
            if worker::js_sys::Date::now() > deadline {
                return Err(PortError::Other("the session's agent did not become healthy in 30 s".into()));
            }
            SendFuture::new(worker::Delay::from(POLL)).await;
        }
    }

    async fn upload_bundle(&self, container: &Container, secret: &str, key: &str) -> PortResult<()> {
        let blob = self.blobs.get(key).await?;
        let blob = blob.ok_or_else(|| PortError::Other("the template's bundle is missing from storage".into()))?;
        let body = crate::body::stream_body(blob.body);
        let response = agent_client::call(container, secret, Method::PUT, "/bundle", body)
            .await
            .map_err(|e| other("uploading the bundle", e))?;
        if response.status() == StatusCode::OK {
            return Ok(());
        }
        Err(refusal(response, "the bundle").await)
    }
}

#[async_trait::async_trait]
impl RuntimeDriver for ContainerDriver {
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()> {
        let container = self.container()?;
        if container.running() {
            self.stop(&spec.session_id).await?;
        }
        let generation = hex::encode(&self.random.bytes32()[..16]);
        self.remember(Some(generation.clone())).await?;
        let secret = self.keys.agent_secret(&spec.session_id, &generation);
        let config = agent_config(spec, &secret, &self.keys.host_key_seed(&spec.session_id));
        let options = worker::js_sys::JSON::parse(&start_options(&config).to_string())
            .map_err(|_| PortError::Other("the start options are not JSON".into()))?;
        let raw: &worker::worker_sys::Container = container.as_ref().unchecked_ref();
        raw.start(&options).map_err(|e| other("starting the container", format!("{e:?}")))?;
        self.wait_until_healthy(container, &secret).await?;
        if let Some(key) = &spec.bundle_key {
            self.upload_bundle(container, &secret, key).await?;
        }
        let running = [spec.workspace_id.as_str().to_string(), spec.session_id.as_str().to_string()];
        self.arm(Some(running)).await
    }

    async fn stop(&self, session: &SessionId) -> PortResult<()> {
        let Some(container) = self.container.as_ref() else { return Ok(()) };
        if container.running() {
            if let Some(secret) = self.secret(session) {
                // A clean stop first (the agent stops the command and its terminals); the
                // container is destroyed either way.
                let _ = agent_client::call(container, &secret, Method::POST, "/shutdown", Body::empty()).await;
            }
            SendFuture::new(container.destroy(None)).await.map_err(|e| other("destroying the container", e))?;
        }
        self.arm(None).await?;
        self.remember(None).await
    }

    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus> {
        let Some((container, secret)) = self.running(session) else { return Ok(RuntimeStatus::Stopped) };
        let Ok(response) = agent_client::call(container, &secret, Method::GET, "/health", Body::empty()).await else {
            return Ok(RuntimeStatus::Stopped);
        };
        if response.status() != StatusCode::OK {
            return Ok(RuntimeStatus::Stopped);
        }
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let health: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        Ok(RuntimeStatus::Running { last_activity: health["lastActivityAt"].as_i64().map(Timestamp) })
    }

    async fn logs(&self, session: &SessionId, max_bytes: usize) -> PortResult<String> {
        let Some((container, secret)) = self.running(session) else { return Ok(String::new()) };
        let path = format!("/logs?tail={max_bytes}");
        let response = agent_client::call(container, &secret, Method::GET, &path, Body::empty())
            .await
            .map_err(|e| PortError::Unavailable(format!("the session's agent: {e}")))?;
        let body = response.into_body().collect().await.map_err(|e| other("reading the logs", e))?;
        Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
    }

    fn keeps_persisted_paths(&self) -> bool {
        true
    }

    /// `GET /persist`, streamed as it arrives. The agent's digest trailer does not cross the
    /// container's fetch, so once the body ended the agent is asked for the digest of the last
    /// archive it wrote to its end (`GET /persist/digest`): an archive cut short by a failure on
    /// the agent's side, which ends like a whole one, does not match and fails the save.
    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        let (container, secret) = self.running(session).ok_or_else(not_running)?;
        let response = agent_client::call(container, &secret, Method::GET, "/persist", Body::empty())
            .await
            .map_err(|e| PortError::Unavailable(format!("the session's agent: {e}")))?;
        if response.status() != StatusCode::OK {
            return Err(refusal(response, "to archive").await);
        }
        let number = response.headers().get(ARCHIVE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let handle: Container = AsRef::<worker::wasm_bindgen::JsValue>::as_ref(container).clone().unchecked_into();
        Ok(Box::new(AgentArchive::new(response, handle, secret, number)))
    }

    /// `PUT /persist`, its body fed from `archive` through a small channel; a failing source
    /// breaks the body off, so the agent changes nothing.
    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        let (container, secret) = self.running(session).ok_or_else(not_running)?;
        let (tx, body) = super::object_archive::channel();
        let send = agent_client::call(container, &secret, Method::PUT, "/persist", body);
        let pump = super::object_archive::pump(archive, tx);
        let (response, pumped) = futures_util::future::join(send, pump).await;
        pumped?;
        let response = response.map_err(|e| PortError::Unavailable(format!("the session's agent: {e}")))?;
        if response.status() == StatusCode::OK {
            return Ok(());
        }
        Err(refusal(response, "the archive").await)
    }

    /// A label for the container's port and the current secret; the object forwards through
    /// the container itself (`get_tcp_port`), never to this address.
    fn endpoint(&self, session: &SessionId) -> Option<AgentEndpoint> {
        let (_, secret) = self.running(session)?;
        let address = AgentAddress::Tcp(format!("container:{}", super::container_options::AGENT_PORT));
        Some(AgentEndpoint { address, secret })
    }
}

/// The agent's refusal of an upload, with the reason its JSON answer gives.
async fn refusal(response: axum::http::Response<Body>, what: &str) -> PortError {
    let status = response.status();
    let text = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let message: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    let reason = message["error"].as_str().unwrap_or("no reason given");
    PortError::Other(format!("the agent refused {what} ({status}): {reason}"))
}

fn not_running() -> PortError {
    PortError::Other("the session's container is not running".into())
}
