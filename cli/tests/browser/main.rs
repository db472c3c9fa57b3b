//! The web app in headless Chromium against the real native server (local runtime): a new user
//! signs up, builds and promotes a template from the browser, starts a session, opens its
//! preview, types `echo hello` into the terminal (which follows the window's size), restarts it
//! and stops it. Also: a CLI device sign-in is approved in the browser from the link the CLI
//! prints, an admin manages people and templates while a member and a viewer are offered only
//! what the API allows them, user-supplied markup renders as text, and a page of another origin
//! cannot open the terminal's WebSocket with the user's cookies. Screenshots go to
//! `target/web-screenshots/`. One scenario also runs against the Worker under `wrangler dev`
//! (`scripts/test-worker`), which serves the app from its static assets.

mod admin;
#[path = "../common/mod.rs"]
mod common;
mod driver;
mod flows;
mod others;
mod sessions;

use burstflare_edge::native::SandboxMode;
use common::{TestServer, User};
use driver::Browser;

/// On either shape (with `BURSTFLARE_TEST_URL`, the Worker serving the app from its static
/// assets): sign up, a template built and promoted, and a session in the list.
#[test]
fn the_app_signs_up_builds_a_template_and_lists_sessions_on_this_target() {
    let server = TestServer::start();
    let url = server.url().to_string();
    let email = User::new(&server, "lin@example.com").email;
    run(async {
        let browser = Browser::start().await;
        flows::sign_up(&browser, &url, &email).await;
        flows::template_built_and_promoted(&browser, &url).await;
        flows::session_listed(&browser, &url).await;
        browser.stop().await;
    });
}

#[test]
fn a_new_user_does_everything_in_the_browser() {
    let server = TestServer::with_local_runtime(SandboxMode::Auto);
    let url = server.url().to_string();
    run(async {
        let browser = Browser::start().await;
        flows::sign_up(&browser, &url, "ada@example.com").await;
        flows::template_built_and_promoted(&browser, &url).await;
        let id = flows::session_started(&browser, &url).await;
        flows::preview_opens(&browser).await;
        flows::terminal_echoes(&browser, &url, &id).await;
        sessions::terminal_follows_the_window(&browser).await;
        flows::other_origins_cannot_open_the_terminal(&browser, &url, &id).await;
        flows::snapshot_saved(&browser, &url, &id).await;
        sessions::session_log_restart_and_events(&browser, &url, &id).await;
        flows::session_stopped(&browser, &url).await;
        let cli = User::new(&server, "ada@example.com");
        let login = ["auth", "login", "--email", "ada@example.com", "--password-stdin"];
        common::succeeded(cli.run_with_stdin(&login, &format!("{}\n", common::PASSWORD)), &login);
        flows::snapshot_listed_downloaded_deleted(&browser, &url, &cli, &id).await;
        browser.stop().await;
    });
}

#[test]
fn a_cli_device_sign_in_is_approved_in_the_browser() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let laptop = User::new(&server, "ada@example.com");
    let mut waiting = others::DeviceLogin::start(&laptop);
    let prompt = waiting.prompt();
    let url = server.url().trim_end_matches('/');
    assert_eq!(prompt.open, format!("{url}/approve"), "the CLI points at the app's approval page");
    run(async {
        let browser = Browser::start().await;
        let code_field = "input[name=code]";
        let code_shown = || async { browser.find(code_field).await.prop("value").await.unwrap().unwrap_or_default() };
        // Signed out, the printed link asks for a sign-in, then shows the code to approve.
        browser.goto(&prompt.complete).await;
        flows::sign_in_here(&browser, "ada@example.com").await;
        browser.wait_text("main h1", "the approval page", |t| t == "Approve a CLI sign-in").await;
        assert_eq!(code_shown().await, prompt.code);
        // The page without the code, where it is typed; and the old address, which leads here.
        browser.goto(&prompt.open).await;
        assert_eq!(code_shown().await, "");
        browser.goto(&format!("{url}/device?user_code={}", prompt.code)).await;
        assert_eq!(code_shown().await, prompt.code);
        assert_eq!(browser.client.current_url().await.unwrap().as_str(), prompt.complete);
        browser.screenshot("device-approval").await;
        browser.button("form", "Approve").await.click().await.unwrap();
        browser.wait_text("#device-result", "approved", |t| t.starts_with("Approved")).await;
        let (status, stdout) = waiting.finish();
        assert_eq!(status, Some(0), "{stdout}");
        assert_eq!(laptop.json(&["auth", "whoami"])["user"]["email"], "ada@example.com");
        browser.stop().await;
    });
}

#[test]
fn viewers_see_no_mutating_controls_and_markup_stays_text() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let markup = "<img src=x onerror=alert(1)>";
    flows::promoted_template_by_cli(&ada, "web", markup);
    ada.ok(&["session", "create", markup, "--template", "web"]);
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), b"snapshot bytes").unwrap();
    ada.ok(&["snapshot", "upload", markup, archive.path().to_str().unwrap(), "--label", "before-refactor"]);
    admin::joined_by_cli(&ada, &User::new(&server, "grace@example.com"), "viewer");
    run(async {
        let browser = Browser::start().await;
        flows::sign_in(&browser, server.url(), "grace@example.com").await;
        admin::switch_workspace(&browser, server.url(), "viewer").await;
        flows::viewer_pages(&browser, server.url(), markup).await;
        browser.goto(server.url()).await;
        browser.click("main a[href^='/sessions/']").await;
        browser.wait_text("main", "the snapshot", |t| t.contains("before-refactor") && t.contains("Download")).await;
        let buttons =
            browser.js("return [...document.querySelectorAll('main button')].map((e) => e.textContent.trim());").await;
        assert_eq!(buttons, serde_json::json!(["Preview", "Show the command's log"]), "a viewer's session page");
        // Grace leaves Ada's workspace and is back in her own.
        browser.goto(&format!("{}/workspace", server.url())).await;
        browser.button("main", "Leave this workspace").await.click().await.unwrap();
        browser.client.accept_alert().await.unwrap();
        browser.wait_text("header .ws", "her own workspace", |t| t.starts_with("Grace")).await;
        browser.stop().await;
    });
}

/// An admin's day: Ada invites, revokes, changes a role and removes a member on the workspace
/// page, archives and restores a template, reads the audit log and runs a reconcile pass; Grace,
/// a member, is offered none of the template controls only admins may use.
#[test]
fn an_admin_manages_people_and_templates_and_members_get_no_admin_controls() {
    let server = TestServer::start();
    let url = server.url().to_string();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    admin::template_with_history_by_cli(&ada);
    admin::joined_by_cli(&ada, &User::new(&server, "carol@example.com"), "viewer");
    let grace = User::new(&server, "grace@example.com");
    grace.register();
    run(async {
        let browser = Browser::start().await;
        flows::sign_in(&browser, &url, "ada@example.com").await;
        let code = admin::workspace_people(&browser, &url).await;
        grace.ok(&["workspace", "accept", &code]);
        admin::template_admin_controls(&browser, &url).await;
        admin::usage_and_admin(&browser, &url).await;
        admin::sign_out(&browser).await;
        flows::sign_in(&browser, &url, "grace@example.com").await;
        admin::switch_workspace(&browser, &url, "member").await;
        admin::member_template_controls(&browser, &url).await;
        browser.stop().await;
    });
}

/// Runs a scenario's browser part on its own runtime; the test server is dropped (and its
/// sessions' agents stopped) outside it.
fn run(scenario: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(scenario);
}
