//! The steps of the browser scenarios, each checking what the page shows.

use super::common::{User, PASSWORD};
use super::driver::Browser;
use super::others::OtherSite;
use std::io::Write;

/// The app every session runs: Python's HTTP server on the preview port.
const MANIFEST: &str = r#"{"image": "debian:12", "command": ["python3", "-m", "http.server", "8000"],
  "previewPort": 8000, "persistedPaths": ["/workspace/data"]}"#;
const PAGE: &str = "<h1>hello from the session</h1>";

pub async fn sign_up(b: &Browser, url: &str, email: &str) {
    b.goto(url).await;
    b.click("a[href^='/signup']").await;
    b.fill("input[name=name]", "Ada").await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", PASSWORD).await;
    b.screenshot("sign-up").await;
    b.click("button[type=submit]").await;
    b.wait_text("main h1", "the sessions page", |t| t == "Sessions").await;
}

pub async fn sign_in(b: &Browser, url: &str, email: &str) {
    b.goto(&format!("{url}/signin")).await;
    sign_in_here(b, email).await;
    b.wait_text("main h1", "the sessions page", |t| t == "Sessions").await;
}

/// Fills and sends the sign-in form the browser shows.
pub async fn sign_in_here(b: &Browser, email: &str) {
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("button[type=submit]").await;
}

/// A gzip'd tar of the manifest and the page, written to a temporary file; with `escaping`, also
/// a symlink out of the bundle, which the build refuses (so the build fails).
pub fn bundle(escaping: bool) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".tar.gz").tempfile().unwrap();
    let gz = flate2::write::GzEncoder::new(file.reopen().unwrap(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, body) in [("burstflare.json", MANIFEST), ("index.html", PAGE)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, body.as_bytes()).unwrap();
    }
    if escaping {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        tar.append_link(&mut header, "escape", "/etc/passwd").unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    file
}

pub async fn template_built_and_promoted(b: &Browser, url: &str) {
    b.goto(&format!("{url}/templates")).await;
    b.fill("input[name=name]", "web").await;
    b.click("form[aria-label='New template'] button[type=submit]").await;
    b.wait_text("main h1", "the template page", |t| t.starts_with("web")).await;
    b.fill("input[name=version]", "1.0.0").await;
    b.fill("textarea[name=manifest]", MANIFEST).await;
    let bundle = bundle(false);
    b.find("input[name=bundle]").await.send_keys(bundle.path().to_str().unwrap()).await.unwrap();
    b.js("window.sawProgress = false; new MutationObserver(() => { \
          if (document.getElementById('upload-progress')) window.sawProgress = true; \
        }).observe(document.body, { childList: true, subtree: true });")
        .await;
    b.click("form[aria-label='New version'] button[type=submit]").await;
    let card = "li[data-version='1.0.0']";
    b.wait_text(&format!("{card} .build"), "a succeeded build", |t| t.contains("succeeded")).await;
    assert_eq!(b.js("return window.sawProgress;").await, true, "the upload showed its progress bar");
    b.button(card, "Build log").await.click().await.unwrap();
    b.wait_text(&format!("{card} .build-log"), "the build's log", |t| !t.is_empty()).await;
    b.screenshot("template-built").await;
    b.button(card, "Promote").await.click().await.unwrap();
    b.wait_text(&format!("{card} h3"), "active", |t| t.contains("active")).await;
    b.wait_text("main", "a release", |t| t.contains("Releases")).await;
    b.screenshot("template-promoted").await;
}

/// Creates `dev` and sees it listed, not started.
pub async fn session_listed(b: &Browser, url: &str) {
    b.goto(url).await;
    b.fill("form[aria-label='New session'] input[name=name]", "dev").await;
    b.click("form[aria-label='New session'] button[type=submit]").await;
    b.wait_text("tr[data-session='dev'] .state-cell", "created", |t| t.starts_with("created")).await;
}

/// Creates and starts `dev`; returns its id.
pub async fn session_started(b: &Browser, url: &str) -> String {
    b.goto(url).await;
    b.fill("form[aria-label='New session'] input[name=name]", "dev").await;
    b.click("form[aria-label='New session'] button[type=submit]").await;
    let row = "tr[data-session='dev']";
    b.button(row, "Start").await.click().await.unwrap();
    b.wait_text(&format!("{row} .state-cell"), "running", |t| t.starts_with("running")).await;
    b.screenshot("sessions").await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.screenshot("sessions-phone").await;
    b.client.set_window_size(1280, 900).await.unwrap();
    let href = b.find(&format!("{row} a[href^='/sessions/']")).await.attr("href").await.unwrap().unwrap();
    href.trim_start_matches("/sessions/").to_string()
}

pub async fn preview_opens(b: &Browser) {
    let app = b.client.window().await.unwrap();
    b.button("tr[data-session='dev']", "Preview").await.click().await.unwrap();
    let link = b.find("a.preview-link").await.attr("href").await.unwrap().unwrap();
    assert!(link.contains(".preview.localhost:"), "{link}");
    // The click also opened a tab; close it and follow the link here.
    for window in b.client.windows().await.unwrap() {
        if window != app {
            b.client.switch_to_window(window).await.unwrap();
            b.client.close_window().await.unwrap();
        }
    }
    b.client.switch_to_window(app).await.unwrap();
    b.goto(&link).await;
    b.wait_text("h1", "the session's page", |t| t == "hello from the session").await;
    b.screenshot("preview").await;
}

pub async fn terminal_echoes(b: &Browser, url: &str, id: &str) {
    b.goto(url).await;
    b.js("window.cspViolations = []; document.addEventListener('securitypolicyviolation', \
          (e) => window.cspViolations.push(e.violatedDirective));")
        .await;
    b.button("tr[data-session='dev']", "Terminal").await.click().await.unwrap();
    b.wait_text("#terminal-status", "connected", |t| t == "Connected").await;
    assert!(b.client.current_url().await.unwrap().path().ends_with(&format!("{id}/terminal")));
    b.find(".xterm-helper-textarea")
        .await
        .send_keys("mkdir -p /workspace/data && echo kept > /workspace/data/note && echo hello\n")
        .await
        .unwrap();
    b.wait_text(".xterm-rows", "hello on a line of its own", |t| t.lines().any(|l| l.trim() == "hello")).await;
    let violations = b.js("return window.cspViolations;").await;
    assert_eq!(violations, serde_json::json!([]), "the terminal works under the CSP");
    b.screenshot("terminal").await;
}

/// A page served from another port of this host (same site, so the browser sends the cookies;
/// another origin, so the server refuses) cannot open the terminal; the app's own page can.
pub async fn other_origins_cannot_open_the_terminal(b: &Browser, url: &str, id: &str) {
    let ws = format!("{}/runtime/sessions/{id}/terminal", url.replace("http://", "ws://"));
    let probe = format!(
        "const done = arguments[arguments.length - 1]; const s = new WebSocket({ws:?}); \
         s.onopen = () => {{ s.close(); done('open'); }}; s.onerror = () => done('refused');"
    );
    b.goto(url).await;
    assert_eq!(b.client.execute_async(&probe, vec![]).await.unwrap(), "open", "the app's origin, cookie only");
    let other = OtherSite::start();
    b.goto(&other.url).await;
    b.wait_text("h1", "the other site", |t| t == "another site").await;
    assert_eq!(b.client.execute_async(&probe, vec![]).await.unwrap(), "refused");
}

/// "Save snapshot now" on the running session's page lists the new snapshot.
pub async fn snapshot_saved(b: &Browser, url: &str, id: &str) {
    b.goto(&format!("{url}/sessions/{id}")).await;
    b.fill("form[aria-label='Save a snapshot'] input[name=label]", "from-browser").await;
    b.click("form[aria-label='Save a snapshot'] button[type=submit]").await;
    b.wait_text("main", "the saved snapshot", |t| t.contains("from-browser")).await;
    b.screenshot("snapshot-saved").await;
}

pub async fn session_stopped(b: &Browser, url: &str) {
    b.goto(url).await;
    let row = "tr[data-session='dev']";
    b.button(row, "Stop").await.click().await.unwrap();
    b.wait_text(&format!("{row} .state-cell"), "sleeping", |t| t.starts_with("sleeping")).await;
    b.screenshot("session-stopped").await;
}

/// A snapshot uploaded by the CLI is listed on the session's page, downloads with the page's
/// cookie, and is deleted from the page.
pub async fn snapshot_listed_downloaded_deleted(b: &Browser, url: &str, user: &User, id: &str) {
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), b"snapshot bytes").unwrap();
    let file = archive.path().to_str().unwrap();
    user.ok(&["snapshot", "upload", "dev", file, "--label", "before-refactor"]);
    b.goto(&format!("{url}/sessions/{id}")).await;
    b.wait_text("main", "the snapshot", |t| t.contains("before-refactor")).await;
    let href = b.button("li[data-snapshot='before-refactor']", "Download").await.attr("href").await.unwrap().unwrap();
    let fetch = format!(
        "const done = arguments[arguments.length - 1]; fetch({href:?}).then((r) => r.text()).then(done, (e) => done(String(e)));"
    );
    assert_eq!(b.client.execute_async(&fetch, vec![]).await.unwrap(), "snapshot bytes");
    b.screenshot("session-detail").await;
    // The snapshot's Delete (the session's own is in the actions above the list).
    b.button("li[data-snapshot='before-refactor']", "Delete").await.click().await.unwrap();
    b.client.accept_alert().await.unwrap();
    b.wait_text("main", "the snapshot gone", |t| !t.contains("before-refactor")).await;
    assert!(b.body_text().await.contains("from-browser"), "the saved snapshot stays");
}

/// What a viewer is shown: lists, no forms or buttons that change anything; the markup in a
/// template's description and a session's name shown as text (no `<img>` made of it).
pub async fn viewer_pages(b: &Browser, url: &str, markup: &str) {
    b.goto(url).await;
    b.wait_text("main", "the session", |t| t.contains(markup)).await;
    b.screenshot("viewer-sessions").await;
    let mutating = "return [...document.querySelectorAll('main button, main form, main a.button')]\
                    .map((e) => e.textContent.trim()).filter((t) => !['Preview', 'Open preview ↗', 'Try again', 'Build log', 'Show the command\\'s log', 'Download', 'Switch', 'Accept invite'].includes(t));";
    assert_eq!(b.js(mutating).await, serde_json::json!([]), "sessions page");
    assert_eq!(b.js("return document.querySelectorAll('img').length;").await, 0);
    b.goto(&format!("{url}/templates")).await;
    b.wait_text("main", "the template", |t| t.contains(markup)).await;
    assert_eq!(b.js(mutating).await, serde_json::json!([]), "templates page");
    b.click("li[data-template='web'] a").await;
    b.wait_text("main", "the version", |t| t.contains("1.0.0")).await;
    assert_eq!(b.js(mutating).await, serde_json::json!([]), "template page");
    assert_eq!(b.js("return document.querySelectorAll('img').length;").await, 0);
    b.screenshot("viewer-template").await;
    let nav = b.find("header nav").await.text().await.unwrap();
    assert!(!nav.contains("Admin"), "{nav}");
    // The audit log, which every member of the workspace may read.
    b.goto(&format!("{url}/usage")).await;
    b.wait_text("main table", "the audit log", |t| t.contains("template.promoted")).await;
    assert_eq!(b.js(mutating).await, serde_json::json!([]), "usage page");
    b.screenshot("viewer-usage").await;
}

/// Ada's template `name` with `description`, version 1.0.0 built and promoted, by the CLI.
pub fn promoted_template_by_cli(user: &User, name: &str, description: &str) {
    user.ok(&["template", "create", name, "--description", description]);
    version_by_cli(user, name, "1.0.0", &bundle(false), true);
    user.ok(&["template", "promote", name, "1.0.0"]);
}

/// Adds `version` to the template `name` with `bundle` (waiting for its build with `wait`).
pub fn version_by_cli(user: &User, name: &str, version: &str, bundle: &tempfile::NamedTempFile, wait: bool) {
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(manifest.path(), MANIFEST).unwrap();
    let (manifest, bundle) = (manifest.path().to_str().unwrap(), bundle.path().to_str().unwrap());
    let mut args = vec!["template", "version", "add", name, "--version", version, "--manifest", manifest];
    args.extend(["--bundle", bundle]);
    if wait {
        args.push("--wait");
    }
    user.ok(&args);
}
