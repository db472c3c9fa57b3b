//! A tiny app for the preview tests, served on a free loopback port: a page that reports what it
//! was sent, a streaming echo, a large streamed download and a WebSocket echo.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// The size of `GET /big`.
pub const BIG: usize = 10 * 1024 * 1024;

type Body = BoxBody<Bytes, hyper::Error>;

/// The app's port and its server task (aborted on drop).
pub struct App {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> App {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let service = service_fn(|req| async move { Ok::<_, Infallible>(handle(req)) });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades().await;
            });
        }
    });
    App { port, task }
}

fn text(body: String) -> Body {
    Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed()
}

/// The `i`-th byte of the big download.
pub fn big_byte(i: usize) -> u8 {
    (i % 251) as u8
}

fn handle(mut req: Request<Incoming>) -> Response<Body> {
    match req.uri().path() {
        "/hello" => {
            let report = format!(
                "hello from the app: query={} secret={} host={} forwarded={} cookie={}",
                req.uri().query().unwrap_or(""),
                req.headers().contains_key("x-burstflare-agent-secret"),
                req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or(""),
                req.headers().get("x-forwarded-host").and_then(|v| v.to_str().ok()).unwrap_or(""),
                req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or(""),
            );
            Response::new(text(report))
        }
        "/echo" => Response::new(req.into_body().boxed()),
        "/big" => {
            let chunks = (0..BIG / 65536).map(|c| {
                let chunk: Vec<u8> = (c * 65536..(c + 1) * 65536).map(big_byte).collect();
                Ok::<_, hyper::Error>(Frame::data(Bytes::from(chunk)))
            });
            Response::new(BodyExt::boxed(StreamBody::new(futures_util::stream::iter(chunks))))
        }
        "/ws" => {
            let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned().expect("a websocket key");
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let upgraded = upgrade.await.unwrap();
                let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        break;
                    }
                    if message.is_text() || message.is_binary() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(header::CONNECTION, "upgrade")
                .header(header::UPGRADE, "websocket")
                .header(header::SEC_WEBSOCKET_ACCEPT, derive_accept_key(key.as_bytes()))
                .body(text(String::new()))
                .unwrap()
        }
        _ => Response::builder().status(StatusCode::NOT_FOUND).body(text("no such page".into())).unwrap(),
    }
}
