//! The web app on the native server: its files (built by `scripts/build-web` into `web/dist`)
//! are embedded in the binary by `build.rs`. `GET`/`HEAD` of `/assets/…` serves them; any other
//! `GET` outside `/api/`, `/runtime/` and the route table's own pages answers the app's page (the
//! app routes in the browser), with a strict Content-Security-Policy carrying a fresh style nonce
//! (xterm.js makes `<style>` elements; the page stamps them with it). API 404s stay JSON.

mod assets;

use crate::web_page::{is_app_path, is_file_like, not_built, page};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Middleware: the app's files and page for browser paths, the Router for everything else.
pub async fn route(request: Request, next: Next) -> Response {
    if !is_app_path(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if let Some(name) = path.strip_prefix('/').filter(|p| p.starts_with("assets/")) {
        return match assets::find(name) {
            Some(asset) => asset.response(request.headers()),
            None => next.run(request).await,
        };
    }
    // A file-like path that is no asset (`/favicon.ico`) is a plain 404, not the page.
    if is_file_like(path) {
        return next.run(request).await;
    }
    match assets::find("index.html") {
        Some(index) => page(index.bytes, &nonce(), request.headers()),
        None => not_built(),
    }
}

/// How many files of the app are embedded (0: built without `web/dist`).
pub fn embedded() -> usize {
    assets::count()
}

/// 128 random bits, hex.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // The OS's generator; should it ever fail, the page still loads (styles made by script don't).
    if getrandom::getrandom(&mut bytes).is_err() {
        tracing::error!("no randomness for the CSP nonce");
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests;
