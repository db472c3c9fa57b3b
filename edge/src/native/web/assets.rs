//! The embedded files of `web/dist` (the table `build.rs` writes), each with its content type and
//! an ETag (its SHA-256), served with `Cache-Control: no-cache` so browsers revalidate and get
//! 304 while the server runs the same build.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

mod table {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    content_type: &'static str,
    etag: String,
}

/// The file at `path` below `web/dist` (e.g. `assets/app.js`), if embedded.
pub fn find(path: &str) -> Option<&'static Asset> {
    static INDEX: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            table::ASSETS
                .iter()
                .map(|(name, bytes)| {
                    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]));
                    (*name, Asset { bytes, content_type: content_type(name), etag })
                })
                .collect()
        })
        .get(path)
}

/// How many files are embedded (none when `web/dist` was missing at build time).
pub fn count() -> usize {
    table::ASSETS.len()
}

impl Asset {
    /// The file, or 304 when the request's `If-None-Match` names this version.
    pub fn response(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim() == self.etag || tag.trim() == "*"));
        let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { self.bytes.into_response() };
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, etag);
        }
        response
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
