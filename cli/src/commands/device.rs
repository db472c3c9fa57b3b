//! `burstflare auth device`: sign in without a password on this machine, in the shape of RFC 8628.
//! The CLI starts a request, shows a short user code and where to enter it, and polls the exchange
//! until someone signed in approves the code (in the browser or with `burstflare auth approve`),
//! denies it, or it expires.

use super::auth::{begin_sign_in, signed_in};
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::Output;
use burstflare_api::{routes, DeviceExchangeRequest, DeviceStartResponse};
use indicatif::ProgressBar;
use reqwest::Method;
use std::time::{Duration, Instant};

/// How many polls in a row may fail to reach the server before giving up.
const MAX_TRANSPORT_FAILURES: u32 = 3;
/// RFC 8628: on `slow_down`, poll this much less often from then on.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

pub async fn run(api: &mut Api, out: Output, poll_interval_ms: Option<u64>) -> Result<()> {
    let raw = api.public(Method::POST, routes::DEVICE_START, None).await?;
    let start: DeviceStartResponse = parse(&raw)?;
    out.note(&format!("Open {} and enter code {}", api.absolute_url(&start.verification_uri), start.user_code));
    out.note(&format!("  (or open {})", api.absolute_url(&start.verification_uri_complete)));
    out.note(&format!("Or, where you are signed in, run: burstflare auth approve {}", start.user_code));

    let mut interval = match poll_interval_ms {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(start.interval.clamp(1, 60) as u64),
    };
    let deadline = Instant::now() + Duration::from_secs(start.expires_in.max(1) as u64);
    let spinner = ProgressBar::new_spinner().with_message("Waiting for approval…");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let request = DeviceExchangeRequest { device_code: start.device_code };
    let mut transport_failures = 0;
    let outcome = loop {
        tokio::time::sleep(interval).await;
        match api.public(Method::POST, routes::DEVICE_EXCHANGE, body(&request)).await {
            Ok(raw) => break Ok(raw),
            Err(e) => match e.code.as_str() {
                "authorization_pending" => transport_failures = 0,
                "slow_down" => interval += SLOW_DOWN_STEP,
                "access_denied" => break Err(CliError::new("access_denied", "the sign-in request was denied")),
                "expired_token" => break Err(expired()),
                _ if e.status.is_none() && transport_failures < MAX_TRANSPORT_FAILURES => transport_failures += 1,
                _ => break Err(e),
            },
        }
        if Instant::now() >= deadline {
            break Err(expired());
        }
    };
    spinner.finish_and_clear();
    let raw = outcome?;
    let sign_in = begin_sign_in(api, &raw).await?;
    out.show(&raw, || signed_in(&sign_in));
    Ok(())
}

fn expired() -> CliError {
    CliError::new("expired_token", "the code expired before it was approved; run `burstflare auth device` again")
}
