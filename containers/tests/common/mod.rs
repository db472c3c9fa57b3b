//! Test support: starts the agent in-process on a unix socket in a temporary folder and talks to
//! it like the edge does (HTTP/1.1 and WebSockets over that socket, with the secret).
#![allow(dead_code)]

pub mod app;

use burstflare_containers::activity::Activity;
use burstflare_containers::agent::{self, SshHandler};
use burstflare_containers::config::{AgentConfig, Listen};
use burstflare_containers::ws_stream::WsStream;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::WebSocketStream;

pub const SECRET: &str = "agent-secret-for-tests";
pub type ClientBody = BoxBody<Bytes, std::io::Error>;

/// A configuration with everything under `dir` and no command, bundle or preview.
pub fn config(dir: &Path) -> AgentConfig {
    AgentConfig {
        session_id: "ses_test".into(),
        listen: Listen::Unix(dir.join("agent.sock")),
        secret: SECRET.into(),
        workspace: dir.join("workspace"),
        state_dir: dir.join("state"),
        bundle: None,
        bundle_upload: false,
        command: None,
        env: BTreeMap::from([("GREETING".into(), "hello".into())]),
        preview_port: None,
        preview_timeout_ms: burstflare_containers::config::DEFAULT_PREVIEW_TIMEOUT_MS,
        ssh_host_key_seed: "11".repeat(32),
        shell: None,
        persisted_paths: Vec::new(),
    }
}

/// An SSH handler that echoes the byte stream back.
pub fn echo_ssh() -> SshHandler {
    Arc::new(|stream: WsStream| {
        Box::pin(async move {
            let (mut reader, mut writer) = tokio::io::split(stream);
            tokio::io::copy(&mut reader, &mut writer).await?;
            writer.shutdown().await?;
            Ok(())
        })
    })
}

pub struct TestAgent {
    pub dir: TempDir,
    pub config: AgentConfig,
    run: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestAgent {
    /// Starts the agent and waits until it answers `/health`.
    pub async fn start(dir: TempDir, config: AgentConfig) -> Self {
        // Not `agent::run`: that one would also take SIGTERM and SIGINT from the test process.
        let run = tokio::spawn(agent::run_with(config.clone(), Activity::new(), echo_ssh(), std::future::pending()));
        let agent = Self { dir, config, run: Some(run) };
        for _ in 0..200 {
            let health = agent.try_request(Method::GET, "/health", Some(SECRET), empty());
            if let Ok(Ok((StatusCode::OK, _, _))) = tokio::time::timeout(Duration::from_secs(5), health).await {
                return agent;
            }
            assert!(!agent.run.as_ref().unwrap().is_finished(), "the agent stopped while starting");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the agent did not become healthy");
    }

    pub fn socket(&self) -> PathBuf {
        match &self.config.listen {
            Listen::Unix(path) => path.clone(),
            Listen::Tcp(_) => unreachable!("tests listen on unix sockets"),
        }
    }

    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        secret: Option<&str>,
        body: ClientBody,
    ) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
        let response = self.send(method, path, secret, body).await?;
        let (parts, body) = response.into_parts();
        Ok((parts.status, parts.headers, body.collect().await?.to_bytes()))
    }

    /// Sends a request and returns the response with its body still streaming.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        secret: Option<&str>,
        body: ClientBody,
    ) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
        let stream = UnixStream::connect(self.socket()).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn.with_upgrades());
        let mut request = Request::builder().method(method).uri(path).header(http::header::HOST, "agent");
        if let Some(secret) = secret {
            request = request.header("x-burstflare-agent-secret", secret);
        }
        Ok(sender.send_request(request.body(body)?).await?)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Bytes) {
        let (status, _, body) = self.try_request(Method::GET, path, Some(SECRET), empty()).await.unwrap();
        (status, body)
    }

    pub async fn json(&self, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self.try_request(method, path, Some(SECRET), empty()).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}")))
    }

    /// Opens a WebSocket on the agent (with the secret).
    pub async fn websocket(&self, path: &str) -> WebSocketStream<UnixStream> {
        let stream = UnixStream::connect(self.socket()).await.unwrap();
        let mut request = format!("ws://agent{path}").into_client_request().unwrap();
        request.headers_mut().insert("x-burstflare-agent-secret", SECRET.parse().unwrap());
        tokio_tungstenite::client_async(request, stream).await.unwrap().0
    }

    /// Polls `/health` until `check` holds (10 s at most).
    pub async fn wait_for_health(&self, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        for _ in 0..200 {
            last = self.json(Method::GET, "/health").await.1;
            if check(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("health never matched; last: {last}");
    }

    /// Polls `/logs` until it contains `needle` (10 s at most).
    pub async fn wait_for_log(&self, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            last = String::from_utf8(self.get("/logs").await.1.to_vec()).unwrap();
            if last.contains(needle) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the log never showed {needle:?}; last: {last}");
    }

    /// `POST /shutdown`, then waits for `run` to return.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let (status, _) = self.json(Method::POST, "/shutdown").await;
        assert_eq!(status, StatusCode::ACCEPTED);
        self.wait().await
    }

    /// Waits (15 s at most) for `run` to return.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        let run = self.run.take().expect("still running");
        tokio::time::timeout(Duration::from_secs(15), run).await.expect("the agent did not stop")?
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        // A failed test: dropping `run` drops its children, which are killed on drop.
        if let Some(run) = self.run.take() {
            run.abort();
        }
    }
}

pub fn empty() -> ClientBody {
    full(Bytes::new())
}

pub fn full(bytes: impl Into<Bytes>) -> ClientBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// Whether a process with this pid still exists (zombies of other parents aside).
pub fn alive(pid: i32) -> bool {
    rustix::process::test_kill_process(rustix::process::Pid::from_raw(pid).unwrap()).is_ok()
}

/// Waits (10 s at most) for a file to appear and holds a pid.
pub async fn read_pid(path: &Path) -> i32 {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pid in {}", path.display());
}
