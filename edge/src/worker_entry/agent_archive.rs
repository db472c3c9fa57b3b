//! A save's archive as it streams out of the session's container (`GET /persist` through the
//! container's fetch), hashed on the way: its end counts only when the agent's digest of the
//! archive it finished matches (the digest trailer does not cross the container's fetch).

use super::agent_client;
use super::container_driver::other;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ports::PortResult;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use worker::send::{SendFuture, SendWrapper};
use worker::Container;

/// The agent's archive as it arrives through the container's fetch, hashed on the way; its end
/// counts only when the agent's digest of the archive it finished matches.
pub struct AgentArchive {
    body: SendWrapper<axum::body::BodyDataStream>,
    container: SendWrapper<Container>,
    secret: String,
    /// The agent's number for this archive (its `ARCHIVE_HEADER`).
    number: String,
    hasher: sha2::Sha256,
}

impl AgentArchive {
    /// The archive of the agent's answer `response`, numbered `number` by the agent.
    pub fn new(response: axum::http::Response<Body>, container: Container, secret: String, number: String) -> Self {
        Self {
            body: SendWrapper::new(response.into_body().into_data_stream()),
            container: SendWrapper::new(container),
            secret,
            number,
            hasher: sha2::Sha256::default(),
        }
    }

    async fn agents_digest(&self) -> PortResult<Option<String>> {
        let path = format!("/persist/digest?archive={}", self.number);
        let call = agent_client::call(&self.container, &self.secret, Method::GET, &path, Body::empty());
        let response = SendFuture::new(call).await.map_err(|e| other("asking the agent for the digest", e))?;
        if response.status() != StatusCode::OK {
            return Ok(None);
        }
        let body = SendFuture::new(response.into_body().collect()).await.map_err(|e| other("the digest", e))?;
        let answer: serde_json::Value = serde_json::from_slice(&body.to_bytes()).unwrap_or_default();
        Ok(answer["digest"].as_str().map(str::to_string))
    }
}

#[async_trait::async_trait]
impl ByteStream for AgentArchive {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        use sha2::Digest as _;
        match SendFuture::new(self.body.next()).await {
            None => {
                let ours = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
                match self.agents_digest().await? {
                    Some(theirs) if theirs == ours => Ok(None),
                    _ => Err(PortError::Other("the archive ended short of the agent's digest (cut off)".into())),
                }
            }
            Some(Ok(chunk)) => {
                self.hasher.update(&chunk);
                Ok(Some(chunk.to_vec()))
            }
            Some(Err(e)) => Err(other("the archive broke off", e)),
        }
    }
}
