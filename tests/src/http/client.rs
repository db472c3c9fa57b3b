//! A small HTTP client for the end-to-end suite: JSON in, status + headers + JSON out, one
//! client IP (sent as `x-forwarded-for`) per `Api` so rate limits of one scenario do not leak into
//! another.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT_IP: AtomicU32 = AtomicU32::new(1);

/// A client bound to one base URL and one client IP.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub ip: String,
    http: reqwest::Client,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    /// The raw body.
    pub bytes: Vec<u8>,
}

impl Resp {
    /// The `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every `Set-Cookie` value.
    pub fn cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }
}

/// A request being built.
pub struct Req<'a> {
    api: &'a Api,
    method: Method,
    path: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    content_type: Option<String>,
    forwarded_for: Option<String>,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let n = NEXT_IP.fetch_add(1, Ordering::Relaxed);
        let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
        Self { base: base.trim_end_matches('/').to_string(), ip, http: reqwest::Client::new() }
    }
    /// The same server, seen from a different client IP.
    pub fn other_client(&self) -> Self {
        Self::new(&self.base)
    }
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            api: self,
            method: Method::from_bytes(method.as_bytes()).expect("valid method"),
            path: path.to_string(),
            token: None,
            headers: Vec::new(),
            body: None,
            content_type: None,
            forwarded_for: None,
        }
    }
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.req("GET", path).token(token).send().await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        let req = self.req("POST", path).json(body);
        match token {
            Some(t) => req.token(t).send().await,
            None => req.send().await,
        }
    }
}

impl Req<'_> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Sends `x-forwarded-for: <value>` instead of this client's IP.
    pub fn forwarded_for(mut self, value: &str) -> Self {
        self.forwarded_for = Some(value.to_string());
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.content_type = Some("application/json".to_string());
        self
    }
    pub fn raw(mut self, body: impl Into<Vec<u8>>, content_type: Option<&str>) -> Self {
        self.body = Some(body.into());
        self.content_type = content_type.map(str::to_owned);
        self
    }
    pub async fn send(self) -> Resp {
        let url = format!("{}{}", self.api.base, self.path);
        let forwarded_for = self.forwarded_for.as_deref().unwrap_or(&self.api.ip);
        let mut rb = self.api.http.request(self.method, &url).header("x-forwarded-for", forwarded_for);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        if let Some(ct) = &self.content_type {
            rb = rb.header("content-type", ct);
        }
        if let Some(body) = self.body {
            rb = rb.body(body);
        }
        let response = rb.send().await.unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text, bytes }
    }
}
