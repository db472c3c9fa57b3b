//! What the native server logs at ERROR: a server-side failure, never a client's mistake. An
//! empty upload (a 400) must leave the error log empty.

use burstflare_edge::native::{start, ServerConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Records every ERROR event as `target: fields`.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for Errors {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(format!("{}:{}", event.metadata().target(), fields.0));
        }
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

async fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: (&str, &[u8])) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: {}\r\n{auth}content-length: {}\r\n\r\n",
        body.0,
        body.1.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.1).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out);
    let status = out.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn json(value: &Value) -> (&'static str, Vec<u8>) {
    ("application/json", value.to_string().into_bytes())
}

#[tokio::test]
async fn an_empty_upload_is_not_logged_as_an_error() {
    let errors = Errors::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(errors.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: Some(dir.path().to_path_buf()),
        ..ServerConfig::default()
    };
    let server = start(config).await.expect("server starts");
    let addr = server.addr();

    let (ct, body) = json(&json!({ "email": "quiet@example.com", "password": "correct horse battery", "kind": "api" }));
    let (status, signed_in) = call(addr, "POST", "/api/auth/register", None, (ct, &body)).await;
    assert_eq!(status, 200, "{signed_in}");
    let token = signed_in["token"].as_str().unwrap();
    let (ct, body) = json(&json!({ "name": "quiet" }));
    let (_, template) = call(addr, "POST", "/api/templates", Some(token), (ct, &body)).await;
    let template_id = template["template"]["id"].as_str().unwrap();
    let (ct, body) = json(&json!({ "version": "1.0.0", "manifest": { "image": "node:20" } }));
    let path = format!("/api/templates/{template_id}/versions");
    let (_, version) = call(addr, "POST", &path, Some(token), (ct, &body)).await;
    let version_id = version["templateVersion"]["id"].as_str().unwrap();

    let path = format!("/api/templates/{template_id}/versions/{version_id}/bundle");
    let (status, refused) = call(addr, "PUT", &path, Some(token), ("application/gzip", b"")).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("empty_body")), "{refused}");
    server.shutdown().await;
    assert_eq!(*errors.0.lock().unwrap(), Vec::<String>::new(), "a client's mistake was logged at ERROR");
}
