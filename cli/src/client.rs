//! HTTP access to the BurstFlare API: JSON bodies in and out, the `{error, code}` envelope turned
//! into [`CliError`], and transparent refresh: an authenticated call refused with 401 refreshes
//! the token pair once, saves it, and retries once.
//!
//! Responses are returned as raw JSON so `--json` can print exactly what the server said; the
//! commands parse the `ports` DTOs out of it for human output.

use crate::config::{Config, ConfigFile};
use crate::error::{CliError, Result};
use burstflare_api::{routes, ErrorBody, RefreshRequest, SignInPayload};
use reqwest::header::{ACCEPT, USER_AGENT};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Hidden: an `X-Forwarded-For` value to send with every request (tests use it to look like
/// distinct clients to a server that trusts the header).
pub const FORWARDED_FOR_ENV: &str = "BURSTFLARE_FORWARDED_FOR";

/// A request body: any `ports` DTO, already turned into JSON.
pub fn body<T: Serialize>(dto: &T) -> Option<Value> {
    Some(serde_json::to_value(dto).expect("API request bodies always serialise"))
}

/// Reads a `ports` DTO out of a raw response.
pub fn parse<T: DeserializeOwned>(raw: &Value) -> Result<T> {
    T::deserialize(raw)
        .map_err(|e| CliError::new("bad_response", format!("the server's answer has an unexpected shape: {e}")))
}

/// The API at one base URL, with the config that holds the caller's tokens.
pub struct Api {
    http: reqwest::Client,
    base_url: String,
    forwarded_for: Option<String>,
    store: ConfigFile,
    config: Config,
}

impl Api {
    pub fn new(base_url: &str, store: ConfigFile, config: Config) -> Result<Self> {
        let base_url = base_url.trim_end_matches('/').to_string();
        match reqwest::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
            _ => return Err(CliError::new("invalid_url", format!("not an http(s) URL: {base_url}"))),
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::new("internal", format!("cannot set up HTTP: {e}")))?;
        let forwarded_for = std::env::var(FORWARDED_FOR_ENV).ok().filter(|v| !v.is_empty());
        Ok(Self { http, base_url, forwarded_for, store, config })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The config file this client reads and saves its sign-in to.
    pub fn config_file(&self) -> &ConfigFile {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `path_or_url` as an absolute URL: server paths are resolved against the base URL.
    pub fn absolute_url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else if path_or_url.starts_with('/') {
            format!("{}{path_or_url}", self.base_url)
        } else {
            format!("{}/{path_or_url}", self.base_url)
        }
    }

    /// A call without credentials (sign-in routes, device flow).
    pub async fn public(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        self.send(method, path, body, None).await
    }

    /// A call with an explicit access token and no refresh (best-effort cleanup of old sign-ins).
    pub async fn with_token(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> Result<Value> {
        self.send(method, path, body, Some(token)).await
    }

    /// An authenticated call as the signed-in user, refreshing the sign_in once if it expired.
    pub async fn authed(&mut self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let bytes = self.authed_bytes(method, path, body).await?;
        self.json(&bytes)
    }

    /// An authenticated `GET` of a text resource (a log).
    pub async fn get_text(&mut self, path: &str) -> Result<String> {
        let bytes = self.authed_bytes(Method::GET, path, None).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn authed_bytes(&mut self, method: Method, path: &str, body: Option<Value>) -> Result<bytes::Bytes> {
        let token = self.config.access_token().ok_or_else(CliError::not_signed_in)?.to_string();
        match self.send_bytes(method.clone(), path, body.clone(), Some(&token)).await {
            Err(e) if e.has_status(401) => {}
            done => return done,
        }
        let token = self.renew(&token).await?;
        match self.send_bytes(method, path, body, Some(&token)).await {
            Err(e) if e.has_status(401) => Err(CliError::sign_in_expired()),
            done => done,
        }
    }

    pub async fn get(&mut self, path: &str) -> Result<Value> {
        self.authed(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Option<Value>) -> Result<Value> {
        self.authed(Method::POST, path, body).await
    }

    /// Exchanges the saved refresh token for a new pair and saves it (`auth refresh`).
    pub async fn refresh(&mut self) -> Result<Value> {
        let refresh_token = self.config.refresh_token().ok_or_else(CliError::not_signed_in)?.to_string();
        let request = RefreshRequest { refresh_token: Some(refresh_token) };
        let raw = match self.public(Method::POST, routes::REFRESH, body(&request)).await {
            Err(e) if e.is_refusal() => return Err(CliError::sign_in_expired()),
            other => other?,
        };
        self.adopt(&raw)?;
        Ok(raw)
    }

    /// An access token to retry with after `stale` was refused. Another `burstflare` process
    /// sharing the config may have rotated the pair already: then its saved token is used, and
    /// the old refresh token is not presented again (that would count as reuse and end the
    /// sign_in everywhere).
    async fn renew(&mut self, stale: &str) -> Result<String> {
        let on_disk = self.store.load()?;
        if let Some(token) = on_disk.access_token().filter(|t| *t != stale).map(str::to_string) {
            self.config = on_disk;
            return Ok(token);
        }
        if self.config.refresh_token().is_none() {
            return Err(CliError::sign_in_expired());
        }
        let raw = self.refresh().await?;
        Ok(parse::<SignInPayload>(&raw)?.token)
    }

    /// Saves the token pair of a sign-in response as the current sign_in and returns it.
    pub fn adopt(&mut self, raw: &Value) -> Result<SignInPayload> {
        let sign_in: SignInPayload = parse(raw)?;
        let mut config = self.store.load().unwrap_or_else(|_| self.config.clone());
        config.save_sign_in(&self.base_url, &sign_in);
        self.store.save(&config)?;
        self.config = config;
        Ok(sign_in)
    }

    /// Forgets the sign_in locally (the server side is the caller's business).
    pub fn forget_sign_in(&mut self) -> Result<()> {
        let mut config = self.store.load().unwrap_or_else(|_| self.config.clone());
        config.clear_sign_in_cookies();
        self.store.save(&config)?;
        self.config = config;
        Ok(())
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Result<Value> {
        let bytes = self.send_bytes(method, path, body, token).await?;
        self.json(&bytes)
    }

    /// A 2xx body as JSON (an empty one is `null`).
    fn json(&self, bytes: &[u8]) -> Result<Value> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(bytes).map_err(|_| {
            CliError::new(
                "bad_response",
                format!("the server at {} answered with something other than JSON", self.base_url),
            )
        })
    }

    async fn send_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Result<bytes::Bytes> {
        let url = self.absolute_url(path);
        let mut request = self
            .http
            .request(method, &url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("burstflare-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(ip) = &self.forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(envelope) => CliError::api(status, envelope),
            Err(_) => CliError::http(status),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> CliError {
        if e.is_timeout() {
            return CliError::new("timeout", format!("BurstFlare at {} did not answer in time", self.base_url));
        }
        // The innermost cause says what happened ("Connection refused"); reqwest's own text
        // repeats the URL.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        if e.is_connect() {
            CliError::unreachable(&self.base_url, cause)
        } else {
            CliError::new("network", format!("request to BurstFlare at {} failed: {cause}", self.base_url))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: &str) -> Result<Api> {
        Api::new(url, ConfigFile::new("/nonexistent/burstflare-test/config.json"), Config::default())
    }

    #[test]
    fn absolute_urls_keep_the_base_path() {
        let api = api("http://example.test/bf/").unwrap();
        assert_eq!(api.base_url(), "http://example.test/bf");
        assert_eq!(api.absolute_url("/device"), "http://example.test/bf/device");
        assert_eq!(api.absolute_url("device?x=1"), "http://example.test/bf/device?x=1");
        assert_eq!(api.absolute_url("https://other.test/d"), "https://other.test/d");
    }

    #[test]
    fn rejects_urls_that_are_not_http() {
        for bad in ["example.test", "ftp://example.test", "http://"] {
            assert_eq!(api(bad).err().map(|e| e.code), Some("invalid_url".to_string()), "{bad}");
        }
    }

    #[tokio::test]
    async fn authenticated_calls_need_a_sign_in() {
        let mut api = api("http://127.0.0.1:9").unwrap();
        assert_eq!(api.get(routes::ME).await.unwrap_err(), CliError::not_signed_in());
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_as_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let api = api(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = api.public(Method::GET, routes::HEALTH, None).await.unwrap_err();
        assert_eq!(err.code, "unreachable");
        assert!(err.message.starts_with(&format!("cannot reach BurstFlare at http://127.0.0.1:{port}")), "{err}");
    }
}
