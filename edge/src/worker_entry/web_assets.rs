//! The web app in the Worker: its files are the Worker's static assets (`[assets]` in
//! `wrangler.toml`, binding `ASSETS`, from `web/dist`), read through the binding because the
//! Worker runs first for every request; its page is rendered here, like natively, with a fresh
//! nonce in its Content-Security-Policy (see [`crate::web_page`]).

use crate::web_page;
use axum::body::Body;
use axum::http::Response;
use burstflare_adapters_cloudflare::system_ports;
use http_body_util::BodyExt;
use worker::{Env, HttpRequest, Request};

/// The static assets' binding.
const ASSETS: &str = "ASSETS";

/// Whether the app (not the API) answers this request.
pub fn is_app_request(req: &Request) -> bool {
    let method = axum::http::Method::from_bytes(req.method().as_ref().as_bytes()).unwrap_or(axum::http::Method::POST);
    web_page::is_app_path(&method, &req.path())
}

/// A file of the app (or the assets' own 404 for a file-like path that is none), or its page.
pub async fn serve(req: Request, env: &Env) -> worker::Result<Response<Body>> {
    let assets = env.assets(ASSETS)?;
    let path = req.path();
    if path.starts_with("/assets/") || web_page::is_file_like(&path) {
        return Ok(assets.fetch_request(req).await?.map(Body::new));
    }
    let headers = HttpRequest::try_from(req)?.headers().clone();
    let index = assets.fetch("https://assets.invalid/index.html", None).await?;
    if !index.status().is_success() {
        return Ok(web_page::not_built());
    }
    let bytes = index.into_body().collect().await.map_err(|e| worker::Error::RustError(e.to_string()))?.to_bytes();
    let nonce = hex::encode(&system_ports().random.bytes32()[..16]);
    Ok(web_page::page(&bytes, &nonce, &headers))
}
