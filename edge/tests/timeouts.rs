//! The native server's read timeouts, seen from a raw TCP client: a request whose headers never
//! finish (or a connection that sends nothing) is closed, and a body that stalls is refused with
//! a 400 and the upload's temp file is gone. The timeouts are made short through the config.

use burstflare_edge::native::{start, RunningServer, ServerConfig, Timeouts};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SHORT: Duration = Duration::from_millis(400);
/// Far longer than [`SHORT`]: a read still blocked this late means the server never cut it.
const PATIENCE: Duration = Duration::from_secs(10);

async fn server(dir: &Path) -> RunningServer {
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: Some(dir.to_path_buf()),
        timeouts: Timeouts { header_read: SHORT, body_idle: SHORT },
        ..ServerConfig::default()
    };
    start(config).await.expect("server starts")
}

/// Everything the server sends until it closes the connection; panics if it never does.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept the connection open; got so far: {:?}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}

/// One request on its own connection; the status and the JSON body.
async fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\n\
         {auth}content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
    parse(&read_until_closed(&mut stream).await)
}

fn parse(response: &str) -> (u16, Value) {
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn unfinished_headers_and_silent_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;

    let started = Instant::now();
    let mut half = TcpStream::connect(server.addr()).await.unwrap();
    half.write_all(b"GET /api/health HTTP/1.1\r\nhost: test\r\nx-slow: ").await.unwrap();
    let mut silent = TcpStream::connect(server.addr()).await.unwrap();
    let answered = read_until_closed(&mut half).await;
    assert!(answered.is_empty() || answered.starts_with("HTTP/1.1 408"), "{answered}");
    assert!(read_until_closed(&mut silent).await.is_empty());
    assert!(started.elapsed() < PATIENCE / 2, "closed after {:?}", started.elapsed());

    // A request that completes in time is served as usual.
    let mut ok = TcpStream::connect(server.addr()).await.unwrap();
    ok.write_all(b"GET /api/health HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
    assert_eq!(parse(&read_until_closed(&mut ok).await).0, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_is_refused_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let addr = server.addr();

    // A JSON body that stops halfway.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head =
        "POST /api/auth/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
    stream.write_all(format!("{head}{{\"email\": ").as_bytes()).await.unwrap();
    let (status, body) = parse(&read_until_closed(&mut stream).await);
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_body")), "{body}");

    // A bundle upload through a grant that stops halfway.
    let email = json!({ "email": "stall@example.com", "password": "correct horse battery", "kind": "api" });
    let (status, signed_in) = call(addr, "POST", "/api/auth/register", None, &email).await;
    assert_eq!(status, 200, "{signed_in}");
    let token = signed_in["token"].as_str().unwrap().to_string();
    let (_, template) = call(addr, "POST", "/api/templates", Some(&token), &json!({ "name": "stall" })).await;
    let template_id = template["template"]["id"].as_str().unwrap().to_string();
    let version = json!({ "version": "1.0.0", "manifest": { "image": "node:20" } });
    let path = format!("/api/templates/{template_id}/versions");
    let (_, version) = call(addr, "POST", &path, Some(&token), &version).await;
    let version_id = version["templateVersion"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/templates/{template_id}/versions/{version_id}/bundle/upload");
    let grant = json!({ "contentType": "application/gzip", "bytes": 4096 });
    let (status, grant) = call(addr, "POST", &path, Some(&token), &grant).await;
    assert_eq!(status, 200, "{grant}");
    let url = grant["uploadGrant"]["url"].as_str().unwrap();
    let upload_path = &url[url.find("/api/").unwrap()..];

    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT {upload_path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/gzip\r\ncontent-length: 4096\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0x1f; 2048]).await.unwrap();
    let (status, body) = parse(&read_until_closed(&mut stream).await);
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_body")), "{body}");
    assert_eq!(temp_files(&dir.path().join("blobs")), Vec::<String>::new());
    server.shutdown().await;
}

/// Every upload temp file (`.put-*.tmp`) under `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.extension().is_some_and(|e| e == "tmp") {
            found.push(path.display().to_string());
        }
    }
    found
}
