//! Which requests the Worker hands to a session's Durable Object, and under which name: the
//! lifecycle transitions (`POST /api/sessions/{id}/start|stop|restart`, `DELETE
//! /api/sessions/{id}`), the snapshots its container takes or takes back (`POST
//! /api/sessions/{id}/snapshots/save`, `POST /api/sessions/{id}/snapshots/{snapshot}/restore`)
//! and every runtime connection (`/runtime/sessions/{id}/…`). Reads and creates stay in the
//! Worker. Pure, so it is tested natively.

/// The session whose object must serve a request with this method and (undecoded) path, or
/// `None` when the Worker's own Router serves it.
///
/// The id is percent-decoded the way the Router's path extractor decodes it, so one session
/// always maps to one object however its id is spelled in the URL. A segment that is not UTF-8
/// once decoded is left to the Router, which refuses it with a 400 before any transition.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn session_of(method: &str, path: &str) -> Option<String> {
    // workerd cannot pass a request with another method on to an object (501); such a request
    // stays in the Worker, whose Router refuses it.
    if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") {
        return None;
    }
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let id = match (method, segments.as_slice()) {
        ("POST", ["api", "sessions", id, "start" | "stop" | "restart"]) | ("DELETE", ["api", "sessions", id]) => id,
        ("POST", ["api", "sessions", id, "snapshots", "save"]) => id,
        ("POST", ["api", "sessions", id, "snapshots", _, "restore"]) => id,
        (_, ["runtime", "sessions", id, ..]) => id,
        _ => return None,
    };
    if id.is_empty() {
        return None;
    }
    percent_decode(id)
}

/// `%XX` with two hex digits becomes that byte; any other `%` stays as it is (as in the
/// `percent-encoding` crate the Router uses). `None` when the bytes are not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(&[hi, lo])) => hex(hi).zip(hex(lo)).map(|(hi, lo)| hi << 4 | lo),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::session_of;
    use burstflare_api::routes::{self, path};

    #[test]
    fn lifecycle_transitions_go_to_the_session_object() {
        for route in [routes::SESSION_START, routes::SESSION_STOP, routes::SESSION_RESTART] {
            assert_eq!(session_of("POST", &path(route, &["ses_1"])).as_deref(), Some("ses_1"), "{route}");
        }
        assert_eq!(session_of("DELETE", &path(routes::SESSION, &["ses_1"])).as_deref(), Some("ses_1"));
    }

    #[test]
    fn snapshots_the_container_takes_or_takes_back_go_to_the_session_object() {
        let save = path(routes::SNAPSHOT_SAVE, &["ses_1"]);
        assert_eq!(session_of("POST", &save).as_deref(), Some("ses_1"));
        let restore = path(routes::SNAPSHOT_RESTORE, &["ses_1", "snap_1"]);
        assert_eq!(session_of("POST", &restore).as_deref(), Some("ses_1"));
        assert_eq!(session_of("GET", &path(routes::SNAPSHOTS, &["ses_1"])), None, "a list stays in the Worker");
    }

    #[test]
    fn runtime_connections_go_to_the_session_object() {
        for p in ["/runtime/sessions/ses_2/terminal", "/runtime/sessions/ses_2/ssh", "/runtime/sessions/ses_2"] {
            assert_eq!(session_of("GET", p).as_deref(), Some("ses_2"), "{p}");
        }
        assert_eq!(session_of("POST", "/runtime/sessions/ses_2/a/b").as_deref(), Some("ses_2"));
    }

    #[test]
    fn reads_creates_and_everything_else_stay_in_the_worker() {
        let cases = [
            ("GET", routes::SESSIONS.to_string()),
            ("POST", routes::SESSIONS.to_string()),
            ("GET", path(routes::SESSION, &["ses_1"])),
            ("GET", path(routes::SESSION_EVENTS, &["ses_1"])),
            ("GET", path(routes::SESSION_START, &["ses_1"])),
            ("PUT", path(routes::SESSION_STOP, &["ses_1"])),
            ("POST", path(routes::SESSION, &["ses_1"])),
            ("POST", "/api/sessions/ses_1/start/".to_string()),
            ("POST", "/api/sessions//start".to_string()),
            ("GET", "/runtime/sessions/".to_string()),
            ("GET", "/runtime/sessions".to_string()),
            ("POST", "/api/templates/tpl_1/promote".to_string()),
            ("GET", routes::HEALTH.to_string()),
            ("GET", String::new()),
            ("ANY", "/runtime/sessions/ses_2/preview/x".to_string()),
        ];
        for (method, p) in cases {
            assert_eq!(session_of(method, &p), None, "{method} {p}");
        }
    }

    #[test]
    fn ids_are_decoded_as_the_router_decodes_them() {
        assert_eq!(session_of("POST", "/api/sessions/ses%5F1/stop").as_deref(), Some("ses_1"));
        assert_eq!(session_of("DELETE", "/api/sessions/a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(session_of("DELETE", "/api/sessions/caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(session_of("DELETE", "/api/sessions/100%").as_deref(), Some("100%"));
        assert_eq!(session_of("DELETE", "/api/sessions/%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(session_of("DELETE", "/api/sessions/%FF"), None, "not UTF-8: the Router refuses it");
    }

    /// The object's name is the id the handlers see: checked against the Router's own extractor.
    #[tokio::test]
    async fn ids_match_what_the_router_extracts() {
        use crate::extract::ApiPath;
        use axum::body::{to_bytes, Body};
        use axum::http::Request;
        use tower::ServiceExt;

        let app = axum::Router::new()
            .route(routes::SESSION_STOP, axum::routing::post(|ApiPath(id): ApiPath<String>| async move { id }));
        for id in ["ses_1", "ses%5F1", "a%2Fb", "caf%C3%A9", "100%", "%zz%4", "%FF", "a%20b", "%25"] {
            let uri = path(routes::SESSION_STOP, &[id]);
            let request = Request::post(&uri).body(Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let extracted = response.status().is_success().then_some(());
            let body = to_bytes(response.into_body(), 1024).await.unwrap();
            let extracted = extracted.map(|()| String::from_utf8(body.to_vec()).unwrap());
            assert_eq!(session_of("POST", &uri), extracted, "{uri}");
        }
    }
}
