//! [`RuntimeDriver`] for the Worker outside the session objects: every call goes to the
//! session's `SessionRuntime` object (see [`super::object_protocol`]), which owns the container.
//! So reconcile (run by the queue consumer) gets the truthful status of the container, and its
//! stops reach the container, whichever isolate runs it; the archive of the persisted paths
//! (reconcile saves them before an idle sleep) streams through the object both ways.

use super::object_archive;
use super::object_protocol::{encode, error_from, status_from, Call, RESTORE, SESSION_HEADER};
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::ports::{AgentEndpoint, PortResult, RuntimeDriver, RuntimeSpec, RuntimeStatus};
use worker::send::{SendFuture, SendWrapper};
use worker::{Method, ObjectNamespace, Request, RequestInit};

pub struct ObjectDriver {
    sessions: SendWrapper<ObjectNamespace>,
}

impl ObjectDriver {
    pub fn new(sessions: ObjectNamespace) -> Self {
        Self { sessions: SendWrapper::new(sessions) }
    }

    /// The session's object's stub.
    fn stub(&self, session: &SessionId) -> worker::Result<worker::Stub> {
        self.sessions.id_from_name(session.as_str())?.get_stub()
    }

    /// Sends `call` to the session's object; its JSON answer, or the driver error it reported.
    async fn call(&self, session: &SessionId, call: Call) -> PortResult<(u16, String)> {
        let (method, path, body) = encode(&call);
        let sessions = &self.sessions;
        let name = session.as_str().to_string();
        let answer = SendFuture::new(async move {
            let stub = sessions.id_from_name(&name)?.get_stub()?;
            let mut init = RequestInit::new();
            init.with_method(Method::from(method.to_string()));
            if let Some(body) = body {
                init.with_body(Some(body.to_string().into()));
            }
            let headers = worker::Headers::new();
            headers.set(SESSION_HEADER, &name)?;
            init.with_headers(headers);
            let request = Request::new_with_init(&format!("https://session{path}"), &init)?;
            let mut response = stub.fetch_with_request(request).await?;
            Ok::<_, worker::Error>((response.status_code(), response.text().await?))
        })
        .await
        .map_err(|e| PortError::Unavailable(format!("the session's object: {e}")))?;
        if (200..300).contains(&answer.0) {
            return Ok(answer);
        }
        Err(error_from(&serde_json::from_str(&answer.1).unwrap_or_default()))
    }
}

#[async_trait::async_trait]
impl RuntimeDriver for ObjectDriver {
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()> {
        self.call(&spec.session_id, Call::Start(Box::new(spec.clone()))).await.map(|_| ())
    }

    async fn stop(&self, session: &SessionId) -> PortResult<()> {
        self.call(session, Call::Stop).await.map(|_| ())
    }

    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus> {
        let (_, text) = self.call(session, Call::Status).await?;
        status_from(&serde_json::from_str(&text).map_err(|e| PortError::Other(e.to_string()))?)
    }

    async fn logs(&self, session: &SessionId, max_bytes: usize) -> PortResult<String> {
        self.call(session, Call::Logs { max_bytes }).await.map(|(_, text)| text)
    }

    fn keeps_persisted_paths(&self) -> bool {
        true
    }

    /// The object's `GET /__runtime/save`, its body streamed as it arrives (the object's own
    /// driver checks the archive against the agent's digest, and breaks the body off if not).
    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        let name = session.as_str().to_string();
        let stub = self.stub(session).map_err(|e| PortError::Unavailable(format!("the session's object: {e}")))?;
        let (_, path, _) = encode(&Call::Save);
        let stub = SendWrapper::new(stub);
        let answer = SendFuture::new(async move {
            let headers = worker::Headers::new();
            headers.set(SESSION_HEADER, &name)?;
            let mut init = RequestInit::new();
            init.with_method(Method::Get).with_headers(headers);
            let request = Request::new_with_init(&format!("https://session{path}"), &init)?;
            let mut response = stub.fetch_with_request(request).await?;
            if (200..300).contains(&response.status_code()) {
                return Ok(Ok(response.stream()?));
            }
            Ok(Err(response.text().await?))
        })
        .await
        .map_err(|e: worker::Error| PortError::Unavailable(format!("the session's object: {e}")))?;
        match answer {
            Ok(stream) => Ok(Box::new(object_archive::Incoming::new(stream))),
            Err(text) => Err(error_from(&serde_json::from_str(&text).unwrap_or_default())),
        }
    }

    /// `PUT /__runtime/restore` with the archive as the body, streamed.
    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        let stub = self.stub(session).map_err(|e| PortError::Unavailable(format!("the session's object: {e}")))?;
        let stub = SendWrapper::new(stub);
        let name = session.as_str().to_string();
        let (tx, body) = object_archive::channel();
        let send = SendFuture::new(async move {
            let request = axum::http::Request::put(format!("https://session{RESTORE}"))
                .header(SESSION_HEADER, &name)
                .body(body)
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let mut response = stub.fetch_with_request(Request::try_from(request)?).await?;
            Ok::<_, worker::Error>((response.status_code(), response.text().await?))
        });
        let (answer, pumped) = futures_util::future::join(send, object_archive::pump(archive, tx)).await;
        pumped?;
        let (status, text) = answer.map_err(|e| PortError::Unavailable(format!("the session's object: {e}")))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(error_from(&serde_json::from_str(&text).unwrap_or_default()))
    }

    /// Runtime connections never run here: the Worker hands them to the session's object.
    fn endpoint(&self, _session: &SessionId) -> Option<AgentEndpoint> {
        None
    }
}
