//! `burstflare-dev-sidecar`: a stand-in for the networking sidecar workerd runs beside every
//! container under `wrangler dev` (Cloudflare's `proxy-everything` image, which cannot be pulled
//! on an offline machine). **Local runs and tests only**: production uses Cloudflare's own.
//! workerd starts it with `--http-ingress-address ADDR` (plus egress flags it ignores) and
//! reaches the application container, which shares its network namespace, through it; see
//! [`sidecar`] for the protocol. It gives the container no outbound network.

mod sidecar;

use std::net::TcpListener;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let address = sidecar::ingress_address(&args);
    let listener = match TcpListener::bind(&address) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("burstflare-dev-sidecar: cannot listen on {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("burstflare-dev-sidecar: listening on {address}");
    sidecar::serve(&listener);
    ExitCode::SUCCESS
}
