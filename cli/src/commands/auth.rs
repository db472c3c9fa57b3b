//! `burstflare auth …`: register, login, device sign-in, approving another device, logout, whoami
//! and refresh. Every sign-in saves the new token pair and revokes the sign_in it replaces.

use crate::args::AuthCommand;
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::{fields, Output};
use crate::password::{self, Purpose};
use burstflare_api::{routes, DeviceApproveRequest, LoginRequest, MeResponse, RegisterRequest, SignInPayload};
use reqwest::Method;
use serde_json::{json, Value};

/// The client kind the CLI signs in as: tokens come back in the body, never as cookies.
const CLIENT_KIND: &str = "api";

pub async fn run(api: &mut Api, out: Output, command: AuthCommand) -> Result<()> {
    match command {
        AuthCommand::Register { email, name, password } => {
            let password = password::obtain(password.password_stdin, Purpose::NewAccount)?;
            let request = RegisterRequest {
                email,
                password: password.expose().to_string(),
                name,
                kind: Some(CLIENT_KIND.into()),
            };
            let raw = api.public(Method::POST, routes::REGISTER, body(&request)).await?;
            let sign_in = begin_sign_in(api, &raw).await?;
            out.show(&raw, || format!("Registered. {}", signed_in(&sign_in)));
        }
        AuthCommand::Login { email, workspace, password } => {
            let password = password::obtain(password.password_stdin, Purpose::SignIn)?;
            let request = LoginRequest {
                email,
                password: password.expose().to_string(),
                kind: Some(CLIENT_KIND.into()),
                workspace_id: workspace,
            };
            let raw = api.public(Method::POST, routes::LOGIN, body(&request)).await?;
            let sign_in = begin_sign_in(api, &raw).await?;
            out.show(&raw, || signed_in(&sign_in));
        }
        AuthCommand::Device { poll_interval_ms } => super::device::run(api, out, poll_interval_ms).await?,
        AuthCommand::Approve { user_code, deny } => {
            let request = DeviceApproveRequest { user_code: user_code.clone(), approve: Some(!deny) };
            let raw = api.post(routes::DEVICE_APPROVE, body(&request)).await?;
            out.show(&raw, || {
                if deny {
                    format!("Denied sign-in request {user_code}.")
                } else {
                    format!("Approved {user_code}: that device is now signed in to your current workspace.")
                }
            });
        }
        AuthCommand::Logout => logout(api, out).await?,
        AuthCommand::Whoami => {
            let raw = api.get(routes::ME).await?;
            let me: MeResponse = parse(&raw)?;
            out.show(&raw, || {
                fields(&[
                    ("user", format!("{} <{}> ({})", me.user.name, me.user.email, me.user.id)),
                    ("workspace", format!("{} ({})", me.workspace.name, me.workspace.id)),
                    ("role", me.membership.role.to_string()),
                    ("plan", me.workspace.plan.to_string()),
                    ("server", api.base_url().to_string()),
                ])
            });
        }
        AuthCommand::Refresh => {
            let raw = api.refresh().await?;
            let sign_in: SignInPayload = parse(&raw)?;
            out.show(&raw, || format!("Refreshed. {}", signed_in(&sign_in)));
        }
    }
    Ok(())
}

/// Saves the token pair of a sign-in response, then revokes (best effort) the sign_in it replaces
/// on the same server, so switching and signing in again do not pile up live tokens.
pub(crate) async fn begin_sign_in(api: &mut Api, raw: &Value) -> Result<SignInPayload> {
    let replaced = api.config().access_token().map(str::to_string);
    let same_server = api.config().saved_url() == Some(api.base_url());
    let sign_in = api.adopt(raw)?;
    if let Some(old) = replaced.filter(|old| same_server && *old != sign_in.token) {
        let _ = api.with_token(Method::POST, routes::LOGOUT, None, &old).await;
    }
    Ok(sign_in)
}

/// One line saying who is signed in where.
pub(crate) fn signed_in(sign_in: &SignInPayload) -> String {
    format!(
        "Signed in as {} <{}> to workspace \"{}\" ({}) as {}.",
        sign_in.user.name, sign_in.user.email, sign_in.workspace.name, sign_in.workspace.id, sign_in.workspace.role
    )
}

/// Revokes the sign_in on the server and always forgets it locally; a server that already ended
/// the sign_in (401) is not an error.
async fn logout(api: &mut Api, out: Output) -> Result<()> {
    if api.config().access_token().is_none() {
        out.show(&json!({ "ok": true, "signedIn": false }), || "Not signed in; nothing to do.".to_string());
        return Ok(());
    }
    let result = api.post(routes::LOGOUT, None).await;
    api.forget_sign_in()?;
    match result {
        Ok(raw) => out.show(&raw, || "Signed out.".to_string()),
        Err(e) if e.has_status(401) || e.code == CliError::sign_in_expired().code => out
            .show(&json!({ "ok": true, "alreadyEnded": true }), || {
                "Signed out (the server had already ended the sign_in).".to_string()
            }),
        Err(e) => {
            let message =
                format!("signed out here, but the server did not confirm it revoked the sign_in: {}", e.message);
            return Err(CliError { message, ..e });
        }
    }
    Ok(())
}
