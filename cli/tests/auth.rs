//! `burstflare auth …` against a real server: sign-up, sign-in, passwords, the config file,
//! transparent and explicit refresh, logout, `--json`, errors, and shell completions.

mod common;

use common::{TestServer, User, PASSWORD};
use serde_json::json;

#[test]
fn register_then_whoami_shows_the_account() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    let out = ada.register();
    assert!(
        out.starts_with("Registered. Signed in as Ada <ada@example.com> to workspace \"Ada's Workspace\""),
        "{out}"
    );
    assert!(out.trim_end().ends_with("as owner."), "{out}");

    let whoami = ada.ok(&["auth", "whoami"]);
    assert!(whoami.contains("ada@example.com"), "{whoami}");
    assert!(whoami.contains("owner") && whoami.contains("free"), "{whoami}");
    assert!(whoami.contains(server.url()), "{whoami}");

    let config = ada.config();
    assert_eq!(config["url"], server.url());
    assert_eq!(config["userEmail"], "ada@example.com");
    assert!(config["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(config["refreshToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(config["workspaceId"].as_str().is_some_and(|t| !t.is_empty()));
}

#[cfg(unix)]
#[test]
fn the_config_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ada.config_path()), 0o600);
    assert_eq!(mode(ada.config_path().parent().unwrap()), 0o700);
}

#[test]
fn login_with_a_wrong_password_fails_with_the_server_message() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let before = ada.config();
    let run =
        ada.run_with_stdin(&["auth", "login", "--email", "ada@example.com", "--password-stdin"], "wrong password\n");
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stderr, "error: Invalid email or password (invalid_credentials)\n");
    assert_eq!(run.stdout, "");
    assert_eq!(ada.config(), before, "a failed login leaves the config alone");
}

#[test]
fn login_reads_the_password_from_stdin_or_the_environment() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let first_token = ada.config_field("token");

    let run = ada.run_with_stdin(&["auth", "login", "--email", "ada@example.com", "--password-stdin"], PASSWORD);
    assert_eq!(run.code, Some(0), "{run:?}");
    let second_token = ada.config_field("token");
    assert_ne!(second_token, first_token);

    let out =
        ada.command(&["auth", "login", "--email", "ada@example.com"]).env("BURSTFLARE_PASSWORD", PASSWORD).output();
    let run: common::Run = out.unwrap().into();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Signed in as"), "{run:?}");
    assert_ne!(ada.config_field("token"), second_token);
    ada.ok(&["auth", "whoami"]);

    // Signing in again revoked the sign_in it replaced.
    let mut stale = ada.config();
    stale["token"] = json!(first_token);
    stale["refreshToken"] = json!("");
    ada.set_config(&stale);
    assert!(ada.fails(&["auth", "whoami"]).contains("sign_in expired"));
}

#[test]
fn the_password_is_never_a_flag_and_is_required_without_a_terminal() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    let stderr = ada.fails(&["auth", "register", "--email", "ada@example.com", "--password", PASSWORD]);
    assert!(stderr.contains("unexpected argument '--password'"), "{stderr}");

    let stderr = ada.fails(&["auth", "register", "--email", "ada@example.com"]);
    assert!(stderr.starts_with("error: a password is needed"), "{stderr}");
    assert!(stderr.trim_end().ends_with("(password_required)"), "{stderr}");
    assert!(!ada.config_path().exists());
}

#[test]
fn not_signed_in_is_said_plainly() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    assert_eq!(ada.fails(&["auth", "whoami"]), "error: not signed in; run `burstflare auth login` (not_signed_in)\n");
    assert_eq!(
        ada.fails(&["workspace", "list"]),
        "error: not signed in; run `burstflare auth login` (not_signed_in)\n"
    );
}

#[test]
fn an_expired_access_token_is_refreshed_transparently() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let refresh_before = ada.config_field("refreshToken");
    let mut config = ada.config();
    config["token"] = json!("bfa_expired_or_made_up");
    ada.set_config(&config);

    let whoami = ada.json(&["auth", "whoami"]);
    assert_eq!(whoami["user"]["email"], "ada@example.com");
    let token = ada.config_field("token");
    assert!(!token.is_empty() && token != "bfa_expired_or_made_up");
    assert_ne!(ada.config_field("refreshToken"), refresh_before, "the pair was rotated and saved");
    ada.ok(&["auth", "whoami"]);
}

#[test]
fn a_failed_refresh_asks_to_sign_in_again() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let mut config = ada.config();
    config["token"] = json!("bfa_made_up");
    config["refreshToken"] = json!("bfr_made_up");
    ada.set_config(&config);
    assert_eq!(
        ada.fails(&["auth", "whoami"]),
        "error: your sign_in expired; run `burstflare auth login` (sign_in_expired)\n"
    );
}

#[test]
fn explicit_refresh_rotates_the_pair_and_the_old_refresh_token_is_spent() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let old = ada.config();
    let out = ada.ok(&["auth", "refresh"]);
    assert!(out.starts_with("Refreshed. Signed in as"), "{out}");
    let new = ada.config();
    assert_ne!(new["token"], old["token"]);
    assert_ne!(new["refreshToken"], old["refreshToken"]);
    ada.ok(&["auth", "whoami"]);

    // Presenting the spent refresh token again is refused (and ends that sign-in everywhere).
    let mut replay = new.clone();
    replay["token"] = json!("bfa_made_up");
    replay["refreshToken"] = old["refreshToken"].clone();
    ada.set_config(&replay);
    assert!(ada.fails(&["auth", "refresh"]).contains("(sign_in_expired)"));
    ada.set_config(&new);
    assert!(ada.fails(&["auth", "whoami"]).contains("(sign_in_expired)"), "reuse revoked the whole family");
}

#[test]
fn logout_revokes_and_forgets_the_sign_in() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let signed_in = ada.config();
    assert_eq!(ada.ok(&["auth", "logout"]), "Signed out.\n");
    assert_eq!(ada.fails(&["auth", "whoami"]), "error: not signed in; run `burstflare auth login` (not_signed_in)\n");
    let config = ada.config();
    assert_eq!(config["userEmail"], "ada@example.com", "the email is remembered for the next login");
    assert_eq!(config["url"], server.url());
    assert_eq!(ada.ok(&["auth", "logout"]), "Not signed in; nothing to do.\n");

    // The server revoked the tokens too: putting them back does not sign anyone in.
    ada.set_config(&signed_in);
    assert!(ada.fails(&["auth", "whoami"]).contains("(sign_in_expired)"));
    // Logging out a sign_in the server already ended still clears it locally.
    assert!(ada.ok(&["auth", "logout"]).starts_with("Signed out"));
    assert!(ada.config()["token"].is_null());
}

#[test]
fn json_output_is_the_server_response_without_secrets() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    let run =
        ada.run_with_stdin(&["auth", "register", "--email", "ada@example.com", "--password-stdin", "--json"], PASSWORD);
    assert_eq!(run.code, Some(0), "{run:?}");
    let sign_in: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(sign_in["user"]["email"], "ada@example.com");
    assert_eq!(sign_in["workspace"]["role"], "owner");
    assert_eq!(sign_in["tokenKind"], "api");
    assert_eq!(sign_in["token"], "<redacted>");
    assert_eq!(sign_in["refreshToken"], "<redacted>");
    assert!(!run.stdout.contains(&ada.config_field("token")));

    let me = ada.json(&["auth", "whoami"]);
    assert_eq!(me["membership"]["role"], "owner");
    assert_eq!(me["workspace"]["id"], ada.config_field("workspaceId"));
}

#[test]
fn an_unreachable_server_is_reported_clearly() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}");
    let run = ada.run_with_stdin(&["auth", "login", "--email", "a@b.co", "--password-stdin", "--url", &url], PASSWORD);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.starts_with(&format!("error: cannot reach BurstFlare at {url}: ")), "{run:?}");
    assert!(run.stderr.trim_end().ends_with("(unreachable)"), "{run:?}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    let bash = ada.ok(&["completions", "bash"]);
    assert!(bash.contains("_burstflare()") && bash.contains("complete "), "{bash}");
    assert!(bash.contains("whoami") && bash.contains("invite"));
    assert!(ada.ok(&["completions", "zsh"]).contains("#compdef burstflare"));
    assert!(ada.ok(&["completions", "fish"]).contains("complete -c burstflare"));
    assert!(!ada.config_path().exists(), "completions need no config");
}
