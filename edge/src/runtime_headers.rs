//! The headers a session's agent gets from a forwarded request, shared by both shapes (the
//! native forwarder and the session's Durable Object): the client's minus its credentials
//! (`authorization`, BurstFlare's cookies, any agent-secret header it sent) and hop-by-hop
//! headers, keeping an upgrade's pair, plus the agent's secret.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use burstflare_core::ports::AGENT_SECRET_HEADER;

pub use burstflare_core::ports::HOP_BY_HOP;

/// Whether the request asks to switch protocols (WebSocket).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection = headers.get_all(header::CONNECTION).iter().filter_map(|v| v.to_str().ok());
    let asks = connection.flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks && headers.contains_key(header::UPGRADE)
}

/// Whether a `cookie` pair is one of BurstFlare's own (never shown to a session).
fn ours(pair: &str) -> bool {
    let name = pair.split('=').next().unwrap_or("").trim();
    let bare = name.strip_prefix("__Host-").unwrap_or(name);
    bare.starts_with("burstflare")
}

/// The headers the agent gets: the client's minus credentials and hop-by-hop ones (plus the
/// upgrade pair when the client asked for one), with the agent's secret.
pub fn agent_headers(client: &HeaderMap, secret: &str) -> HeaderMap {
    let upgrade = is_upgrade(client);
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "authorization" || n == AGENT_SECRET_HEADER || n == "cookie" || n == "host" {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let kept: Vec<&str> = client
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !ours(pair))
        .collect();
    if let Ok(cookie) = HeaderValue::from_str(&kept.join("; ")) {
        if !kept.is_empty() {
            out.insert(header::COOKIE, cookie);
        }
    }
    if upgrade {
        out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Some(protocol) = client.get(header::UPGRADE) {
            out.insert(header::UPGRADE, protocol.clone());
        }
    }
    out.insert(header::HOST, HeaderValue::from_static("session"));
    if let Ok(secret) = HeaderValue::from_str(secret) {
        out.insert(HeaderName::from_static(AGENT_SECRET_HEADER), secret);
    }
    out
}

/// What a preview served on the API's own origin (`/runtime/sessions/{id}/preview/…`) may not do:
/// its page is sandboxed into an opaque origin (so its scripts cannot read or act with the API's
/// cookies) and it sets no cookie on the API's origin. Both shapes apply this to the app's answer.
pub fn confine_api_origin_preview(headers: &mut HeaderMap) {
    headers.remove(header::SET_COOKIE);
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_hop_by_hop_headers_stay_behind() {
        let mut client = HeaderMap::new();
        client.insert("authorization", "Bearer bfa_x".parse().unwrap());
        client.insert(AGENT_SECRET_HEADER, "forged".parse().unwrap());
        client.insert("cookie", "burstflare_access=a; app=1; __Host-burstflare_csrf=c; theme=dark".parse().unwrap());
        client.insert("connection", "keep-alive".parse().unwrap());
        client.insert("x-app", "kept".parse().unwrap());
        let out = agent_headers(&client, "s3cret");
        assert_eq!(out.get("authorization"), None);
        assert_eq!(out.get(AGENT_SECRET_HEADER).unwrap(), "s3cret");
        assert_eq!(out.get("cookie").unwrap(), "app=1; theme=dark");
        assert_eq!(out.get("connection"), None);
        assert_eq!(out.get("x-app").unwrap(), "kept");
    }

    #[test]
    fn an_upgrade_keeps_its_pair_and_a_cookie_free_request_has_no_cookie() {
        let mut client = HeaderMap::new();
        client.insert("connection", "keep-alive, Upgrade".parse().unwrap());
        client.insert("upgrade", "websocket".parse().unwrap());
        client.insert("cookie", "burstflare_access=a".parse().unwrap());
        assert!(is_upgrade(&client));
        let out = agent_headers(&client, "s");
        assert_eq!(out.get("connection").unwrap(), "upgrade");
        assert_eq!(out.get("upgrade").unwrap(), "websocket");
        assert_eq!(out.get("cookie"), None);
    }

    #[test]
    fn a_preview_on_the_api_origin_is_sandboxed_and_sets_no_cookie() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, "burstflare_access=stolen; Path=/".parse().unwrap());
        headers.append(header::SET_COOKIE, "theme=dark".parse().unwrap());
        headers.insert(header::CONTENT_SECURITY_POLICY, "default-src *".parse().unwrap());
        confine_api_origin_preview(&mut headers);
        assert_eq!(headers.get_all(header::SET_COOKIE).iter().count(), 0);
        assert_eq!(headers.get_all(header::CONTENT_SECURITY_POLICY).iter().collect::<Vec<_>>(), ["sandbox"]);
    }
}
