//! One-off API calls for the setup and bookkeeping of the Worker, upload and login-storm benchmarks
//! (register, templates, versions, grants, bundle uploads, build polls, logins): one fresh HTTP/1.1
//! connection per call, an optional bearer token, a fixed `x-forwarded-for` (the rate-limit identity of
//! servers that trust it), and a timeout. Only loopback addresses are accepted.

use anyhow::{bail, Context};
use burstflare_api::dto::RegisterRequest;
use burstflare_api::{routes, SignInPayload};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A call that takes longer than this fails (a 32 MiB upload on loopback takes well under 1 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Who calls which server.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    forwarded_for: String,
    bearer: Option<String>,
}

impl Client {
    /// A client of `addr` (which must be a loopback address) that sends `forwarded_for` as its
    /// `x-forwarded-for`.
    pub fn new(addr: SocketAddr, forwarded_for: &str) -> anyhow::Result<Client> {
        if !addr.ip().is_loopback() {
            bail!("{addr} is not a loopback address: the benchmarks only talk to this machine");
        }
        Ok(Client { addr, forwarded_for: forwarded_for.to_string(), bearer: None })
    }

    /// The same client, sending `x-forwarded-for: ip` instead.
    pub fn with_ip(&self, ip: &str) -> Client {
        Client { forwarded_for: ip.to_string(), ..self.clone() }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The access token this client sends, if it has one.
    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// Registers an API user (`kind: "api"`) and returns a client that uses its access token.
    pub async fn register(&self, email: &str) -> anyhow::Result<Client> {
        let request = RegisterRequest {
            email: email.to_string(),
            password: "bench-owner-password".to_string(),
            name: Some("Bench Owner".to_string()),
            kind: Some("api".to_string()),
        };
        let sign_in: SignInPayload = self.json(Method::POST, routes::REGISTER, Some(&request)).await?;
        Ok(Client { bearer: Some(sign_in.token), ..self.clone() })
    }

    /// Sends `body` as JSON (or nothing) and reads a JSON answer; a non-2xx status is an error.
    pub async fn json<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<R> {
        let (content_type, bytes) = match body {
            Some(body) => (Some("application/json"), Bytes::from(serde_json::to_vec(body)?)),
            None => (None, Bytes::new()),
        };
        let answer = self.send(method.clone(), path, content_type, bytes).await?;
        serde_json::from_slice(&answer).with_context(|| format!("reading the answer to {method} {path}"))
    }

    /// Sends one request and returns its status and body, whatever the status.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let call = self.exchange(method.clone(), path, content_type, body);
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .with_context(|| format!("{method} {path}: no answer within {CALL_TIMEOUT:?}"))?
    }

    /// Sends one request and returns the body of a 2xx answer; anything else is an error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<Bytes> {
        let (status, answer) = self.call(method.clone(), path, content_type, body).await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", String::from_utf8_lossy(&answer));
        }
        Ok(answer)
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let stream = TcpStream::connect(self.addr).await.with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.addr.to_string())
            .header("x-forwarded-for", &self.forwarded_for);
        if let Some(token) = &self.bearer {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        let response = sender.send_request(builder.body(Full::new(body))?).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    /// The token this client sends, if it has one.
    pub fn token(&self) -> Option<&str> {
        self.bearer.as_deref()
    }
}

/// `http://127.0.0.1:PORT[/]` as a socket address; refuses anything but a loopback address.
pub fn loopback_url(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap_or("");
    let addr: SocketAddr =
        authority.parse().with_context(|| format!("{url}: expected http://127.0.0.1:PORT (an IP, not a name)"))?;
    if !addr.ip().is_loopback() {
        bail!("{url} is not a loopback address");
    }
    Ok(addr)
}
