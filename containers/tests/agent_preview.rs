//! The preview proxy against a real app on a loopback port: a page, 10 MiB streamed each way,
//! the app's own WebSocket passed through, and the errors when there is no app.

mod common;

use bytes::Bytes;
use common::{app, config, empty, TestAgent, SECRET};
use futures_util::{SinkExt, StreamExt};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::net::UnixStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn agent_for(port: u16) -> TestAgent {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.preview_port = Some(port);
    TestAgent::start(dir, config).await
}

#[tokio::test]
async fn a_page_comes_through_without_the_agent_secret_and_counts_as_activity() {
    let app = app::start().await;
    let agent = agent_for(app.port).await;
    assert!(agent.json(Method::GET, "/health").await.1["lastActivityAt"].is_null());
    let (status, body) = agent.get("/preview/hello?a=1&b=two").await;
    assert_eq!(status, StatusCode::OK);
    let expected =
        format!("hello from the app: query=a=1&b=two secret=false host=127.0.0.1:{} forwarded=agent cookie=", app.port);
    assert_eq!(String::from_utf8_lossy(&body), expected);
    let (status, _) = agent.get("/preview/missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(agent.json(Method::GET, "/health").await.1["lastActivityAt"].as_i64().unwrap() > 0);
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn ten_mib_stream_through_each_way() {
    let app = app::start().await;
    let agent = agent_for(app.port).await;

    let response = agent.send(Method::GET, "/preview/big", Some(SECRET), empty()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            assert!(data.iter().enumerate().all(|(i, b)| *b == app::big_byte(seen + i)));
            seen += data.len();
        }
    }
    assert_eq!(seen, app::BIG);

    // The upload is generated as it is sent and echoed back as it arrives.
    let chunks = (0..160).map(|i| Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![i as u8; 65536]))));
    let upload = BodyExt::boxed(StreamBody::new(futures_util::stream::iter(chunks)));
    let response = agent.send(Method::POST, "/preview/echo", Some(SECRET), upload).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            assert!(data.iter().enumerate().all(|(i, b)| *b == ((seen + i) / 65536) as u8));
            seen += data.len();
        }
    }
    assert_eq!(seen, 160 * 65536);
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_apps_websocket_passes_through() {
    let app = app::start().await;
    let agent = agent_for(app.port).await;
    let stream = UnixStream::connect(agent.socket()).await.unwrap();
    let mut request = "ws://agent/preview/ws".into_client_request().unwrap();
    request.headers_mut().insert("x-burstflare-agent-secret", SECRET.parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::client_async(request, stream).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::text("ping through the proxy")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("ping through the proxy"));
    ws.send(Message::binary(vec![1u8; 300_000])).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap().into_data().len(), 300_000);
    ws.close(None).await.unwrap();
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_app_listening_is_a_502() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let agent = agent_for(port).await;
    let (status, body) = agent.json(Method::GET, "/preview/").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("preview_unreachable")));
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_first_preview_waits_for_an_app_that_is_still_starting() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.preview_port = Some(port);
    std::fs::create_dir_all(&config.workspace).unwrap();
    std::fs::write(config.workspace.join("index.html"), "late but here").unwrap();
    let serve = format!("sleep 1; exec python3 -m http.server {port} --bind 127.0.0.1");
    config.command = Some(vec!["/bin/sh".into(), "-c".into(), serve]);
    let agent = TestAgent::start(dir, config).await;
    let (status, body) = agent.get("/preview/index.html").await;
    assert_eq!((status, String::from_utf8_lossy(&body).as_ref()), (StatusCode::OK, "late but here"));
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_app_that_never_answers_is_a_504_after_the_configured_timeout() {
    // It accepts connections and reads what it is sent, but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.preview_port = Some(port);
    config.preview_timeout_ms = 300;
    let agent = TestAgent::start(dir, config).await;
    let began = std::time::Instant::now();
    let (status, body) = agent.json(Method::GET, "/preview/").await;
    let waited = began.elapsed();
    assert_eq!((status, body["code"].as_str()), (StatusCode::GATEWAY_TIMEOUT, Some("preview_timeout")), "{body}");
    assert!(waited >= std::time::Duration::from_millis(300), "it waited its timeout: {waited:?}");
    assert!(waited < std::time::Duration::from_secs(5), "not the 30 s default: {waited:?}");
    assert_eq!(agent.json(Method::GET, "/health").await.0, StatusCode::OK, "the agent still serves");
    agent.shutdown().await.unwrap();
    silent.abort();
}
