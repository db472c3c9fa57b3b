//! `burstflare build …`: list builds, print a build's log, retry one build or every dead-lettered
//! one, and wait for a build to finish (polling every 500 ms behind a spinner on stderr).
//!
//! Also the plain-HTTP helpers for the two calls the JSON client does not make (text logs and
//! streamed bundle uploads), and the progress display shared with `template version add`.

use super::template::template_id;
use crate::client::{parse, Api, FORWARDED_FOR_ENV};
use crate::error::{CliError, Result};
use crate::output::{self, table, Output};
use burstflare_api::{routes, BuildDto, BuildResponse, BuildsResponse, ErrorBody, TemplatesResponse};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{ACCEPT, USER_AGENT};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often `build wait` asks for the build.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// List the builds of the current workspace
    List {
        /// Only the builds of this template (name or id)
        #[arg(long, value_name = "TEMPLATE")]
        template: Option<String>,
    },
    /// Print a build's log
    Log {
        /// A build id from `burstflare build list`
        #[arg(value_name = "BUILD")]
        build: String,
    },
    /// Queue a failed or dead-lettered build again, or every dead-lettered one
    Retry {
        /// The build to retry
        #[arg(value_name = "BUILD", required_unless_present = "dead_lettered", conflicts_with = "dead_lettered")]
        build: Option<String>,
        /// Retry every dead-lettered build of the workspace instead
        #[arg(long)]
        dead_lettered: bool,
    },
    /// Wait until a build finishes: exit 0 if it succeeded, 1 if it failed
    Wait {
        /// The build to wait for
        #[arg(value_name = "BUILD")]
        build: String,
        /// Give up after this many seconds
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        timeout: u64,
    },
}

/// `--wait` and `--timeout` of the commands that queue a build.
#[derive(Debug, Clone, Copy, Args)]
pub struct WaitArgs {
    /// Then wait for the build like `burstflare build wait`
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, requires = "wait")]
    pub timeout: u64,
}

pub async fn run(api: &mut Api, out: Output, command: BuildCommand) -> Result<()> {
    match command {
        BuildCommand::List { template } => list(api, out, template).await,
        BuildCommand::Log { build } => log(api, out, &build).await,
        BuildCommand::Retry { build: Some(build), .. } => {
            let raw = api.post(&routes::path(routes::BUILD_RETRY, &[&build]), None).await?;
            let build = parse::<BuildResponse>(&raw)?.build;
            out.show(&raw, || format!("Build {} is {} again.\n{}", build.id, build.status, follow_hint(&build.id)));
            Ok(())
        }
        BuildCommand::Retry { build: None, .. } => {
            let raw = api.post(routes::BUILD_RETRY_DEAD, None).await?;
            let builds = parse::<BuildsResponse>(&raw)?.builds;
            out.show(&raw, || match builds.len() {
                0 => "No dead-lettered builds to retry.".to_string(),
                n => {
                    let ids: Vec<String> = builds.iter().map(|b| format!("  {}", b.id)).collect();
                    format!("Queued {n} dead-lettered build(s) again:\n{}", ids.join("\n"))
                }
            });
            Ok(())
        }
        BuildCommand::Wait { build, timeout } => {
            let raw = wait(api, out, &build, timeout).await?;
            report(out, &raw)
        }
    }
}

/// The hint printed after a build is queued.
pub fn follow_hint(build_id: &str) -> String {
    format!("Follow it with `burstflare build wait {build_id}`.")
}

async fn list(api: &mut Api, out: Output, template: Option<String>) -> Result<()> {
    let mut raw = api.get(routes::BUILDS).await?;
    let mut builds = parse::<BuildsResponse>(&raw)?.builds;
    if let Some(template) = template {
        let id = template_id(api, &template).await?;
        builds.retain(|b| b.template_id == id);
        raw = json!({ "builds": builds });
    }
    if out.is_json() {
        output::print_json(&raw);
        return Ok(());
    }
    let names = names(api).await;
    let rows: Vec<Vec<String>> = builds
        .iter()
        .map(|b| {
            vec![
                b.id.clone(),
                names.template(&b.template_id),
                names.version(&b.template_version_id),
                b.status.clone(),
                b.attempts.to_string(),
                b.updated_at.clone(),
                b.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::print(&table(&["ID", "TEMPLATE", "VERSION", "STATUS", "ATTEMPTS", "UPDATED", "ERROR"], &rows));
    Ok(())
}

/// Prints the log (text/plain on the server). The build is fetched first through the JSON
/// client, which refreshes the sign_in if it has to; the log is then read with the fresh token.
async fn log(api: &mut Api, out: Output, id: &str) -> Result<()> {
    let build = parse::<BuildResponse>(&api.get(&routes::path(routes::BUILD, &[id])).await?)?.build;
    let token = api.config().access_token().ok_or_else(CliError::not_signed_in)?.to_string();
    let url = api.absolute_url(&routes::path(routes::BUILD_LOG, &[id]));
    let request = http(Duration::from_secs(60))?.get(&url).header(ACCEPT, "text/plain").bearer_auth(token);
    let response = with_headers(request).send().await.map_err(|e| transport(e, api.base_url()))?;
    let text = String::from_utf8_lossy(&answer(response, api.base_url()).await?).into_owned();
    if out.is_json() {
        output::print_json(&json!({ "build": build, "log": text }));
    } else {
        output::print(&text);
    }
    Ok(())
}

/// Polls the build until it is terminal and returns the last `{build}` answer. Network faults,
/// rate limiting and server errors while polling are retried until the timeout.
pub async fn wait(api: &mut Api, out: Output, id: &str, timeout_secs: u64) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let spinner = spinner(out);
    spinner.set_message(format!("build {id}: waiting"));
    let path = routes::path(routes::BUILD, &[id]);
    let mut last = String::from("not seen yet");
    loop {
        match api.get(&path).await {
            Ok(raw) => {
                let build = parse::<BuildResponse>(&raw)?.build;
                if matches!(build.status.as_str(), "succeeded" | "failed" | "dead_lettered") {
                    spinner.finish_and_clear();
                    return Ok(raw);
                }
                last = build.status.clone();
                spinner.set_message(progress_line(&build));
            }
            Err(e) if is_transient(&e) => spinner.set_message(format!("build {id}: {last} (retrying: {e})")),
            Err(e) => {
                spinner.finish_and_clear();
                return Err(e);
            }
        }
        if Instant::now() >= deadline {
            spinner.finish_and_clear();
            return Err(CliError::new(
                "wait_timeout",
                format!("build {id} is still {last} after {timeout_secs} s; run `burstflare build wait {id}` to keep waiting"),
            ));
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Prints a finished build: succeeded is success, anything else is the `build_failed` error.
pub fn report(out: Output, raw: &Value) -> Result<()> {
    let build = parse::<BuildResponse>(raw)?.build;
    if out.is_json() {
        output::print_json(raw);
    }
    if build.status == "succeeded" {
        if !out.is_json() {
            output::print(&succeeded(&build));
        }
        return Ok(());
    }
    let reason = build.last_error.as_deref().unwrap_or("no reason given");
    eprintln!(
        "Build {} {} after {} attempt(s); see `burstflare build log {}`.",
        build.id, build.status, build.attempts, build.id
    );
    Err(CliError::new("build_failed", format!("build failed: {reason}")))
}

fn succeeded(build: &BuildDto) -> String {
    match &build.artifact {
        Some(a) => format!(
            "Build {} succeeded: {} files, {} unpacked, {}.",
            build.id,
            a.file_count,
            indicatif::HumanBytes(a.unpacked_bytes),
            a.digest
        ),
        None => format!("Build {} succeeded.", build.id),
    }
}

fn progress_line(build: &BuildDto) -> String {
    let mut line = format!("build {}: {}", build.id, build.status);
    if build.attempts > 0 {
        line.push_str(&format!(" (attempt {})", build.attempts));
    }
    if let (Some(error), "retrying") = (&build.last_error, build.status.as_str()) {
        line.push_str(&format!(": {error}"));
    }
    line
}

fn is_transient(e: &CliError) -> bool {
    matches!(e.code.as_str(), "unreachable" | "network" | "timeout") || e.status.is_some_and(|s| s >= 500 || s == 429)
}

/// Template names and version labels by id, for human output (ids stand in if unknown).
#[derive(Default)]
pub struct Names {
    templates: HashMap<String, String>,
    versions: HashMap<String, String>,
}

impl Names {
    pub fn template(&self, id: &str) -> String {
        self.templates.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
    pub fn version(&self, id: &str) -> String {
        self.versions.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// Reads the names once; a failure only costs the names.
pub async fn names(api: &mut Api) -> Names {
    let Ok(list) = api.get(routes::TEMPLATES).await.and_then(|raw| parse::<TemplatesResponse>(&raw)) else {
        return Names::default();
    };
    let mut names = Names::default();
    for t in list.templates {
        names.versions.extend(t.versions.iter().map(|v| (v.id.clone(), v.version.clone())));
        names.templates.insert(t.id, t.name);
    }
    names
}

/// Where progress goes: stderr, and only to a terminal and without `--json`.
pub fn progress_target(out: Output) -> ProgressDrawTarget {
    if out.is_json() || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

/// A ticking spinner on stderr (hidden where progress is).
pub fn spinner(out: Output) -> ProgressBar {
    let spinner = ProgressBar::with_draw_target(None, progress_target(out));
    spinner.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// A client for calls outside the JSON client.
pub fn http(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .map_err(|e| CliError::new("internal", format!("cannot set up HTTP: {e}")))
}

/// The user agent, and the forwarded-for address the JSON client sends too.
pub fn with_headers(mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request = request.header(USER_AGENT, concat!("burstflare-cli/", env!("CARGO_PKG_VERSION")));
    match std::env::var(FORWARDED_FOR_ENV) {
        Ok(ip) if !ip.is_empty() => request.header("x-forwarded-for", ip),
        _ => request,
    }
}

/// A 2xx answer's body, or the API error it carries. (`base_url` names the server in transport
/// errors: the request's own URL may hold a secret.)
pub async fn answer(response: reqwest::Response, base_url: &str) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| transport(e, base_url))?;
    if (200..300).contains(&status) {
        return Ok(bytes.to_vec());
    }
    Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(envelope) => CliError::api(status, envelope),
        Err(_) => CliError::http(status),
    })
}

/// A request that did not get an answer.
pub fn transport(e: reqwest::Error, base_url: &str) -> CliError {
    if e.is_timeout() {
        return CliError::new("timeout", format!("BurstFlare at {base_url} did not answer in time"));
    }
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if e.is_connect() {
        CliError::unreachable(base_url, cause)
    } else {
        CliError::new("network", format!("request to BurstFlare at {base_url} failed: {cause}"))
    }
}
