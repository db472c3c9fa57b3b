//! `burstflare session …`: create a session from a template, list, show with its events, start,
//! stop, restart (each waiting for the server's answer behind a spinner on stderr) and delete.
//! Sessions are named by name or id.

use super::build::spinner;
use super::template::template_id;
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::{self, fields, table, Output};
use burstflare_api::{
    routes, CreateSessionRequest, SessionDetailResponse, SessionDto, SessionEventDto, SessionEventsResponse,
    SessionResponse, SessionsResponse,
};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a session from a template's promoted version
    Create {
        /// The session's name (unique in the workspace among live sessions)
        name: String,
        /// The template (name or id)
        #[arg(long)]
        template: String,
    },
    /// List the live sessions of the current workspace
    List,
    /// Show a session with its events
    Show {
        /// The session (name or id)
        session: String,
    },
    /// Start a session and wait until it runs (or failed)
    Start {
        /// The session (name or id)
        session: String,
    },
    /// Stop a session and wait until it sleeps
    Stop {
        /// The session (name or id)
        session: String,
    },
    /// Stop a running session and start it again
    Restart {
        /// The session (name or id)
        session: String,
    },
    /// Delete a session (its runtime is stopped first)
    Delete {
        /// The session (name or id)
        session: String,
    },
    /// Print a session's events, oldest first
    Events {
        /// The session (name or id)
        session: String,
    },
    /// Print the output of the session's command (the end of its log)
    Logs {
        /// The session (name or id)
        session: String,
        /// How many bytes from the end
        #[arg(long, default_value_t = 64 * 1024)]
        tail: usize,
    },
}

pub async fn run(api: &mut Api, out: Output, command: SessionCommand) -> Result<()> {
    if let SessionCommand::Logs { session, tail } = &command {
        let id = session_id(api, session).await?;
        let text = api.get_text(&format!("{}?tail={tail}", routes::path(routes::SESSION_LOGS, &[&id]))).await?;
        output::print(&text);
        return Ok(());
    }
    let (raw, text) = match command {
        SessionCommand::Create { name, template } => {
            let template_id = template_id(api, &template).await?;
            let raw = api.post(routes::SESSIONS, body(&CreateSessionRequest { name, template_id })).await?;
            let s = parse::<SessionResponse>(&raw)?.session;
            (
                raw,
                format!(
                    "Created session {} ({}) from {}; start it with `burstflare session start {}`.",
                    s.name, s.id, s.template_name, s.name
                ),
            )
        }
        SessionCommand::List => {
            let raw = api.get(routes::SESSIONS).await?;
            let rows: Vec<Vec<String>> = parse::<SessionsResponse>(&raw)?
                .sessions
                .iter()
                .map(|s| {
                    vec![s.name.clone(), s.state.clone(), s.template_name.clone(), s.id.clone(), s.updated_at.clone()]
                })
                .collect();
            (raw, table(&["NAME", "STATE", "TEMPLATE", "ID", "UPDATED"], &rows))
        }
        SessionCommand::Show { session } => {
            let id = session_id(api, &session).await?;
            let raw = api.get(&routes::path(routes::SESSION, &[&id])).await?;
            let detail = parse::<SessionDetailResponse>(&raw)?;
            (raw, format!("{}\n\n{}", show_text(&detail.session), events_text(&detail.events)))
        }
        SessionCommand::Events { session } => {
            let id = session_id(api, &session).await?;
            let raw = api.get(&routes::path(routes::SESSION_EVENTS, &[&id])).await?;
            let text = events_text(&parse::<SessionEventsResponse>(&raw)?.events);
            (raw, text)
        }
        SessionCommand::Start { session } => lifecycle(api, out, &session, routes::SESSION_START, "starting").await?,
        SessionCommand::Stop { session } => lifecycle(api, out, &session, routes::SESSION_STOP, "stopping").await?,
        SessionCommand::Restart { session } => {
            lifecycle(api, out, &session, routes::SESSION_RESTART, "restarting").await?
        }
        SessionCommand::Logs { .. } => unreachable!("logs are printed above"),
        SessionCommand::Delete { session } => {
            let id = session_id(api, &session).await?;
            let raw = api.authed(reqwest::Method::DELETE, &routes::path(routes::SESSION, &[&id]), None).await?;
            let s = parse::<SessionResponse>(&raw)?.session;
            (raw, format!("Deleted session {} ({}).", s.name, s.id))
        }
    };
    out.show(&raw, || text);
    Ok(())
}

/// Calls a lifecycle route behind a spinner; a session that ends `failed` is an error (exit 1).
async fn lifecycle(
    api: &mut Api,
    out: Output,
    session: &str,
    route: &str,
    doing: &str,
) -> Result<(serde_json::Value, String)> {
    let id = session_id(api, session).await?;
    let spinner = spinner(out);
    spinner.set_message(format!("session {session}: {doing}"));
    let result = api.post(&routes::path(route, &[&id]), None).await;
    spinner.finish_and_clear();
    let raw = result?;
    let s = parse::<SessionResponse>(&raw)?.session;
    if s.state == "failed" {
        if out.is_json() {
            output::print_json(&raw);
        }
        let reason = s.state_detail.unwrap_or_else(|| "no reason given".into());
        return Err(CliError::new("session_failed", format!("session {} failed: {reason}", s.name)));
    }
    Ok((raw, format!("Session {} is {}.", s.name, s.state)))
}

/// The id of the session named by `arg`: an id is used as it is, a name is looked up.
pub(crate) async fn session_id(api: &mut Api, arg: &str) -> Result<String> {
    if arg.starts_with("ses_") {
        return Ok(arg.to_string());
    }
    let list = parse::<SessionsResponse>(&api.get(routes::SESSIONS).await?)?.sessions;
    list.iter()
        .find(|s| s.name.eq_ignore_ascii_case(arg))
        .map(|s| s.id.clone())
        .ok_or_else(|| CliError::new("session_not_found", format!("no session named {arg} in this workspace")))
}

fn show_text(s: &SessionDto) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    fields(&[
        ("name", s.name.clone()),
        ("id", s.id.clone()),
        ("state", s.state.clone()),
        ("detail", or_dash(&s.state_detail)),
        ("template", format!("{} ({})", s.template_name, s.template_id)),
        ("created", s.created_at.clone()),
        ("last started", or_dash(&s.last_started_at)),
        ("last stopped", or_dash(&s.last_stopped_at)),
    ])
}

fn events_text(events: &[SessionEventDto]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let details =
                if e.details.as_object().is_some_and(|d| d.is_empty()) { String::new() } else { e.details.to_string() };
            vec![e.created_at.clone(), e.state.clone(), details]
        })
        .collect();
    table(&["WHEN", "STATE", "DETAILS"], &rows)
}
