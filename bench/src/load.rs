//! A small closed-loop HTTP/1.1 load generator: `connections` keep-alive connections to a loopback
//! address, each sending its next request as soon as the previous answer is read (over
//! [`crate::wire`], so it costs about what `wrk` costs per request). Requests started
//! during the warm-up are not counted; every later one has its latency recorded in an HDR
//! histogram (microseconds). The run is bounded in time and in request count.

use crate::wire;
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
use std::rc::Rc;
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
    /// The `sequence`-th request of connection `connection`, as bytes on the wire.
    fn request(&self, connection: usize, sequence: u64) -> anyhow::Result<Vec<u8>>;
    /// Whether every request is the same (then each connection encodes it once).
    fn constant(&self) -> bool;
}

impl Target {
    /// The request's bytes with `extra` headers after the target's own.
    pub fn encode(&self, connection: usize, sequence: u64, extra: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
        let body = match self.body {
            Body::Empty => Vec::new(),
            Body::UniqueInvite => {
                let email = format!("invitee-{connection}-{sequence}@bench.example");
                serde_json::to_vec(&InviteRequest { email, role: Some("member".to_string()) })?
            }
        };
        let bearer = self.bearer.as_ref().map(|token| format!("Bearer {token}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        headers.extend_from_slice(extra);
        Ok(wire::encode(self.method.as_str(), self.path, self.addr, &headers, &body))
    }
}

impl MakeRequest for Target {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn request(&self, connection: usize, sequence: u64) -> anyhow::Result<Vec<u8>> {
        self.encode(connection, sequence, &[])
    }
    fn constant(&self) -> bool {
        matches!(self.body, Body::Empty)
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
    fn empty() -> anyhow::Result<Self> {
        Ok(Outcome { latencies: histogram()?, errors: 0, first_error: None, elapsed: Duration::ZERO })
    }
    fn merge(&mut self, part: Outcome) -> anyhow::Result<()> {
        self.latencies.add(&part.latencies).context("merging histograms")?;
        self.errors += part.errors;
        self.first_error = self.first_error.take().or(part.first_error);
        Ok(())
    }
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

/// Runs `load` against `target` and returns what was measured after the warm-up. The connections
/// are spread over one thread per CPU this process may run on (as `wrk -t` would be set), each
/// thread a single-threaded runtime, so a request costs no cross-thread wake-up.
pub async fn run<T: MakeRequest>(target: &T, load: Load) -> anyhow::Result<Outcome> {
    if load.connections == 0 {
        bail!("at least one connection is needed");
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(load.connections);
    let measure_from = Instant::now() + load.warmup;
    let until = measure_from + load.duration;
    let per_connection = load.max_requests.div_ceil(load.connections as u64);
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let target = target.clone();
            let connections: Vec<usize> = (thread..load.connections).step_by(threads).collect();
            std::thread::Builder::new().name(format!("load-{thread}")).spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async move {
                    let target = Rc::new(target);
                    let local = tokio::task::LocalSet::new();
                    let tasks: Vec<_> = connections
                        .into_iter()
                        .map(|c| local.spawn_local(connection(target.clone(), c, measure_from, until, per_connection)))
                        .collect();
                    local
                        .run_until(async move {
                            let mut outcome = Outcome::empty()?;
                            for task in tasks {
                                outcome.merge(task.await.context("a load task panicked")??)?;
                            }
                            Ok::<_, anyhow::Error>(outcome)
                        })
                        .await
                })
            })
        })
        .collect::<Result<_, _>>()?;
    let mut total = Outcome::empty()?;
    for worker in workers {
        let part = tokio::task::spawn_blocking(move || worker.join()).await?;
        total.merge(part.map_err(|_| anyhow::anyhow!("a load thread panicked"))??)?;
    }
    total.elapsed = measure_from.elapsed();
    Ok(total)
}

/// One connection's closed loop; reconnects after a transport error or a timeout.
async fn connection<T: MakeRequest>(
    target: Rc<T>,
    index: usize,
    measure_from: Instant,
    until: Instant,
    max_measured: u64,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome::empty()?;
    let mut sequence = 0;
    let mut conn = None;
    let constant = if target.constant() { Some(target.request(index, 0)?) } else { None };
    while Instant::now() < until && out.latencies.len() < max_measured {
        let open = match conn.as_mut() {
            Some(open) => open,
            None => conn.insert(wire::Connection::open(target.addr()).await?),
        };
        let varying;
        let request = match &constant {
            Some(bytes) => bytes,
            None => {
                varying = target.request(index, sequence)?;
                &varying
            }
        };
        sequence += 1;
        let started = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, open.exchange(request)).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let error = match result {
            Ok(Ok(answer)) if (200..300).contains(&answer.status) => None,
            Ok(Ok(answer)) => Some(format!("{}: {}", answer.status, String::from_utf8_lossy(&answer.body))),
            Ok(Err(e)) => {
                conn = None;
                Some(format!("{e:#}"))
            }
            Err(_) => {
                conn = None;
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
