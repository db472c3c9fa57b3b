//! A small closed-loop HTTP/1.1 load generator: `connections` keep-alive connections to a loopback
//! address, each sending its next request as soon as the previous answer is read. Requests started
//! during the warm-up are not counted; every later one has its latency recorded in an HDR
//! histogram (microseconds). The run is bounded in time and in request count.

use anyhow::{bail, Context};
use burstflare_api::dto::InviteRequest;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// A request that takes longer than this counts as an error (and its connection is replaced).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Latencies above this are clamped into the histogram's top bucket.
const MAX_TRACKED_MICROS: u64 = 60_000_000;

/// How hard and how long to push.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Upper bound on measured requests over all connections.
    pub max_requests: u64,
}

/// What each request looks like.
#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    /// An invite to a fresh address, `invitee-<connection>-<sequence>@bench.example`.
    UniqueInvite,
}

/// One endpoint under load.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub method: Method,
    pub path: &'static str,
    pub bearer: Option<String>,
    pub body: Body,
}

/// What a run sends: a [`Target`], or a wrapper of one that adds headers.
pub trait MakeRequest: Clone + Send + Sync + 'static {
    fn addr(&self) -> SocketAddr;
    /// The `sequence`-th request of connection `connection`.
    fn request(&self, connection: usize, sequence: u64) -> anyhow::Result<Request<Full<Bytes>>>;
}

impl MakeRequest for Target {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn request(&self, connection: usize, sequence: u64) -> anyhow::Result<Request<Full<Bytes>>> {
        let body = match self.body {
            Body::Empty => Bytes::new(),
            Body::UniqueInvite => {
                let email = format!("invitee-{connection}-{sequence}@bench.example");
                Bytes::from(serde_json::to_vec(&InviteRequest { email, role: Some("member".to_string()) })?)
            }
        };
        build(self.addr, self.method.clone(), self.path, self.bearer.as_deref(), body)
    }
}

/// The measured part of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Latency of every measured successful request, in microseconds.
    pub latencies: Histogram<u64>,
    pub errors: u64,
    /// The first error seen, to show in the report.
    pub first_error: Option<String>,
    /// From the end of the warm-up to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn requests(&self) -> u64 {
        self.latencies.len()
    }
    pub fn rps(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
    /// A latency quantile, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latencies.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs `load` against `target` and returns what was measured after the warm-up.
pub async fn run<T: MakeRequest>(target: &T, load: Load) -> anyhow::Result<Outcome> {
    if load.connections == 0 {
        bail!("at least one connection is needed");
    }
    let target = Arc::new(target.clone());
    let measure_from = Instant::now() + load.warmup;
    let until = measure_from + load.duration;
    let per_connection = load.max_requests.div_ceil(load.connections as u64);
    let tasks: Vec<_> = (0..load.connections)
        .map(|c| tokio::spawn(connection(target.clone(), c, measure_from, until, per_connection)))
        .collect();
    let mut total = Outcome { latencies: histogram()?, errors: 0, first_error: None, elapsed: Duration::ZERO };
    for task in tasks {
        let part = task.await.context("a load task panicked")??;
        total.latencies.add(&part.latencies).context("merging histograms")?;
        total.errors += part.errors;
        total.first_error = total.first_error.or(part.first_error);
    }
    total.elapsed = measure_from.elapsed();
    Ok(total)
}

/// One connection's closed loop; reconnects after a transport error or a timeout.
async fn connection<T: MakeRequest>(
    target: Arc<T>,
    index: usize,
    measure_from: Instant,
    until: Instant,
    max_measured: u64,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome { latencies: histogram()?, errors: 0, first_error: None, elapsed: Duration::ZERO };
    let mut sequence = 0;
    let mut sender = None;
    while Instant::now() < until && out.latencies.len() < max_measured {
        let conn = match sender.as_mut() {
            Some(conn) => conn,
            None => sender.insert(connect(target.addr()).await?),
        };
        let request = target.request(index, sequence)?;
        sequence += 1;
        let started = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, exchange(conn, request)).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let error = match result {
            Ok(Ok((status, _))) if status.is_success() => None,
            Ok(Ok((status, body))) => Some(format!("{status}: {}", String::from_utf8_lossy(&body))),
            Ok(Err(e)) => {
                sender = None;
                Some(format!("{e:#}"))
            }
            Err(_) => {
                sender = None;
                Some(format!("no answer within {REQUEST_TIMEOUT:?}"))
            }
        };
        if started < measure_from {
            continue;
        }
        match error {
            None => out.latencies.saturating_record(micros.min(MAX_TRACKED_MICROS)),
            Some(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    Ok(out)
}

/// Sends one request on a fresh connection and returns the status and body.
pub async fn send_once(
    addr: SocketAddr,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Bytes,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut conn = connect(addr).await?;
    let request = build(addr, method, path, bearer, body)?;
    exchange(&mut conn, request).await
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn exchange(
    conn: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    conn.ready().await?;
    let response = conn.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn build(
    addr: SocketAddr,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Bytes,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder().method(method).uri(path).header(HOST, addr.to_string());
    if let Some(token) = bearer {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if !body.is_empty() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    Ok(builder.body(Full::new(body))?)
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, 3)?)
}
