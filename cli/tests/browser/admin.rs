//! The steps of an admin's day in the browser (the workspace's people, the template's admin-only
//! controls, the usage page and its audit log, the admin report and reconcile) and what a plain
//! member is offered instead.

use super::common::User;
use super::driver::{Browser, WAIT};
use super::flows;
use std::time::{Duration, Instant};

/// What only admins (and the owner) may do to a template; the API refuses it to members.
const ADMIN_ONLY: [&str; 6] = ["Promote", "Roll back to this", "Archive", "Restore", "Delete template", "Retry"];

/// Ada's template `web`: 1.0.0 and then 1.1.0 built and promoted (so 1.0.0 can be promoted
/// again and rolled back to), and 2.0.0, whose bundle links out of itself, failed.
pub fn template_with_history_by_cli(ada: &User) {
    flows::promoted_template_by_cli(ada, "web", "built by the CLI");
    flows::version_by_cli(ada, "web", "1.1.0", &flows::bundle(false), true);
    ada.ok(&["template", "promote", "web", "1.1.0"]);
    flows::version_by_cli(ada, "web", "2.0.0", &flows::bundle(true), false);
}

/// `user` registers and joins the owner's workspace as `role` with a code from the CLI.
pub fn joined_by_cli(owner: &User, user: &User, role: &str) {
    let invited = owner.ok(&["workspace", "invite", &user.email, "--role", role]);
    let code = invited.split_whitespace().find(|w| w.starts_with("bfi_")).expect("an invite code");
    user.register();
    user.ok(&["workspace", "accept", code]);
}

/// The `web` template's page once 2.0.0's build has failed.
async fn template_page(b: &Browser, url: &str) {
    b.goto(&format!("{url}/templates")).await;
    b.wait_text("li[data-template='web']", "the template", |t| t.contains("active 1.1.0")).await;
    b.screenshot("templates").await;
    b.click("li[data-template='web'] a").await;
    b.wait_text("li[data-version='2.0.0'] .build", "a failed build", |t| t.contains("failed")).await;
}

/// The owner is offered every admin control; archiving hides promotion and offers Restore,
/// which brings them back.
pub async fn template_admin_controls(b: &Browser, url: &str) {
    template_page(b, url).await;
    let offered = b.controls().await;
    for label in ADMIN_ONLY.iter().filter(|l| **l != "Restore") {
        assert!(offered.iter().any(|o| o == label), "the owner is offered {label}: {offered:?}");
    }
    b.button("main .actions", "Archive").await.click().await.unwrap();
    b.wait_text("main h1", "archived", |t| t.contains("archived")).await;
    let offered = b.controls().await;
    assert!(offered.iter().all(|o| o != "Promote" && o != "Roll back to this"), "{offered:?}");
    b.screenshot("template-archived").await;
    b.button("main .actions", "Restore").await.click().await.unwrap();
    b.wait_text("main h1", "restored", |t| !t.contains("archived")).await;
    b.button("main", "Promote").await;
}

/// A member may add versions and upload bundles, and is offered none of the admin controls.
pub async fn member_template_controls(b: &Browser, url: &str) {
    template_page(b, url).await;
    b.find("form[aria-label='New version']").await;
    let offered = b.controls().await;
    assert!(offered.iter().any(|o| o.starts_with("Upload bundle")), "{offered:?}");
    for label in ADMIN_ONLY {
        assert!(offered.iter().all(|o| o != label), "a member is offered {label}: {offered:?}");
    }
}

/// The row of the members table that names `email`.
fn member_row(email: &str) -> String {
    format!("//main//tr[td[normalize-space(.)='{email}']]")
}

/// Ada invites Grace as a member from the page and returns the code it shows once; invites Bob
/// and revokes it; makes Carol (a viewer) a member, then removes her.
pub async fn workspace_people(b: &Browser, url: &str) -> String {
    b.goto(&format!("{url}/workspace")).await;
    let form = "form[aria-label='Invite someone']";
    b.fill(&format!("{form} input[name=email]"), "grace@example.com").await;
    b.click(&format!("{form} button[type=submit]")).await;
    let code = b.wait_text("code.secret", "the invite code", |t| t.starts_with("bfi_")).await;
    b.find_xpath("//main//li[contains(., 'grace@example.com') and contains(., 'as member')]").await;

    b.fill(&format!("{form} input[name=email]"), "bob@example.com").await;
    b.find(&format!("{form} select[name=role]")).await.select_by_value("viewer").await.unwrap();
    b.click(&format!("{form} button[type=submit]")).await;
    let bob = "//main//li[contains(., 'bob@example.com') and contains(., 'as viewer')]";
    b.find_xpath(bob)
        .await
        .find(fantoccini::Locator::XPath(".//button[.='Revoke']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_gone(bob).await;

    let carol = member_row("carol@example.com");
    b.find_xpath(&format!("{carol}//select")).await.select_by_value("member").await.unwrap();
    let started = Instant::now();
    loop {
        b.goto(&format!("{url}/workspace")).await;
        let role = b.find_xpath(&format!("{carol}//select")).await.prop("value").await.unwrap();
        if role.as_deref() == Some("member") {
            break;
        }
        assert!(started.elapsed() < WAIT, "Carol's new role is never shown: {role:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.screenshot("workspace").await;
    b.find_xpath(&format!("{carol}//button[.='Remove']")).await.click().await.unwrap();
    b.client.accept_alert().await.unwrap();
    b.wait_gone(&carol).await;
    code
}

/// The usage page with the audit log of what happened above; the report and a reconcile pass.
pub async fn usage_and_admin(b: &Browser, url: &str) {
    b.goto(&format!("{url}/usage")).await;
    b.wait_text("main table", "the audit log", |t| {
        ["workspace.invite_revoked", "workspace.member_role_updated", "workspace.member_removed", "template.archived"]
            .iter()
            .all(|action| t.contains(action))
    })
    .await;
    b.screenshot("usage").await;
    b.goto(&format!("{url}/admin")).await;
    b.wait_text("main dl", "the report", |t| t.contains("Templates") && t.contains("Builds failed")).await;
    b.button("main", "Reconcile now").await.click().await.unwrap();
    b.find("main dl[role=status]").await;
    b.screenshot("admin").await;
}

/// Signs out from the header.
pub async fn sign_out(b: &Browser) {
    b.button("header", "Sign out").await.click().await.unwrap();
    b.wait_text("main h1", "the sign-in page", |t| t.starts_with("Sign in")).await;
}

/// Switches to the one other workspace listed and waits for the header to show `role` there.
pub async fn switch_workspace(b: &Browser, url: &str, role: &str) {
    b.goto(&format!("{url}/workspace")).await;
    b.button("main", "Switch").await.click().await.unwrap();
    b.wait_text("header .ws", role, |t| t.ends_with(role)).await;
}
