//! Sign-in use cases over each backend: register, login, refresh rotation with reuse detection,
//! logout and rate limits.

use crate::contract::harness::{expect_code, Harness, PASSWORD};
use burstflare_core::rate::RateScope;
use burstflare_core::values::{ClientKind, Plan, Role};
use burstflare_core::ErrorKind;

pub async fn register_then_login_checks_the_password(h: &Harness) -> anyhow::Result<()> {
    let signed = h.register("Ada.Lovelace@Example.com").await?;
    assert_eq!(signed.user.email.as_str(), "Ada.Lovelace@Example.com");
    assert_eq!(signed.user.name.as_str(), "Ada Lovelace");
    assert_eq!((signed.workspace.role, signed.workspace.member_count), (Role::Owner, 1));
    assert_eq!(signed.workspace.workspace.plan, Plan::Free);
    let actor = h.actor(&signed).await?;
    assert_eq!(
        (actor.user.id.clone(), actor.workspace_id.clone(), actor.role()),
        (signed.user.id.clone(), signed.workspace.workspace.id.clone(), Role::Owner)
    );

    let again = h.service.login("ada.lovelace@EXAMPLE.com", PASSWORD, ClientKind::Api, None).await?;
    assert_eq!(again.user, signed.user);
    assert_eq!(again.workspace, signed.workspace);
    assert_ne!(again.access.expose(), signed.access.expose());
    h.actor(&again).await?;

    let ws = &signed.workspace.workspace.id;
    let before = h.snapshot(ws).await?;
    let login = |email: &'static str, password: &'static str| h.service.login(email, password, ClientKind::Api, None);
    let wrong = expect_code(login("ada.lovelace@example.com", "not the password").await, "invalid_credentials");
    let unknown = expect_code(login("nobody@example.com", PASSWORD).await, "invalid_credentials");
    let malformed = expect_code(login("not an email", PASSWORD).await, "invalid_credentials");
    assert_eq!(wrong.kind(), ErrorKind::Unauthorized);
    assert_eq!(unknown, wrong, "an unknown email answers exactly like a wrong password");
    assert_eq!(malformed, wrong);
    assert_eq!(h.snapshot(ws).await?, before, "refused logins change nothing");
    Ok(())
}

pub async fn registering_a_taken_email_conflicts(h: &Harness) -> anyhow::Result<()> {
    let first = h.register("ada@example.com").await?;
    let before = h.snapshot(&first.workspace.workspace.id).await?;
    let taken = expect_code(h.register("ADA@Example.com").await, "email_taken");
    assert_eq!(taken.kind(), ErrorKind::Conflict);
    assert_eq!(h.snapshot(&first.workspace.workspace.id).await?, before);
    let (user, _) = h.ports.users.find_by_email("ada@example.com").await?.ok_or_else(|| anyhow::anyhow!("ada"))?;
    assert_eq!(user, first.user);
    let weak = burstflare_core::service::auth::Registration::parse("grace@example.com", "short", None, ClientKind::Api);
    expect_code(weak, "weak_password");
    let input =
        burstflare_core::service::auth::Registration::parse("grace@example.com", "secret pass", None, ClientKind::Api)?;
    assert!(!format!("{input:?}").contains("secret pass"), "a registration never prints its password");
    assert_eq!(h.ports.users.find_by_email("grace@example.com").await?, None);
    Ok(())
}

pub async fn refresh_rotates_and_reuse_revokes_the_family(h: &Harness) -> anyhow::Result<()> {
    let first = h.register("ada@example.com").await?;
    let elsewhere = h.service.login("ada@example.com", PASSWORD, ClientKind::Browser, None).await?;
    h.clock.advance_seconds(60);
    let second = h.service.refresh(first.refresh.expose()).await?;
    assert_eq!(second.user, first.user);
    assert_eq!(second.workspace.workspace.id, first.workspace.workspace.id);
    assert_ne!(second.refresh.expose(), first.refresh.expose());
    let actor = h.actor(&second).await?;
    assert_eq!(actor.family_id, h.actor(&first).await?.family_id, "rotation stays in the family");

    // Presenting the rotated token again is reuse: refused, and the whole family is revoked.
    h.clock.advance_seconds(60);
    let reused = expect_code(h.service.refresh(first.refresh.expose()).await, "refresh_token_reused");
    assert_eq!(reused.kind(), ErrorKind::Unauthorized);
    expect_code(h.service.refresh(second.refresh.expose()).await, "unauthorized");
    expect_code(h.service.authenticate(second.access.expose()).await, "unauthorized");
    expect_code(h.service.authenticate(first.access.expose()).await, "unauthorized");
    let audit = h.ports.audit.list(&first.workspace.workspace.id, 1).await?;
    assert_eq!(audit.first().map(|e| e.action.as_str()), Some("auth.refresh_reused"));

    // Another sign-in of the same user is another family: untouched.
    h.actor(&elsewhere).await?;
    h.service.refresh(elsewhere.refresh.expose()).await?;
    // Only refresh tokens are accepted.
    expect_code(h.service.refresh(elsewhere.access.expose()).await, "refresh_token_required");
    Ok(())
}

pub async fn expired_refresh_tokens_are_refused(h: &Harness) -> anyhow::Result<()> {
    let signed = h.register("ada@example.com").await?;
    h.clock.advance_seconds(h.service.config().access_ttl_seconds);
    expect_code(h.service.authenticate(signed.access.expose()).await, "unauthorized");
    h.clock.advance_seconds(h.service.config().refresh_ttl_seconds);
    expect_code(h.service.refresh(signed.refresh.expose()).await, "unauthorized");
    Ok(())
}

pub async fn logout_revokes_the_sign_in(h: &Harness) -> anyhow::Result<()> {
    let signed = h.register("ada@example.com").await?;
    let other = h.service.login("ada@example.com", PASSWORD, ClientKind::Api, None).await?;
    let actor = h.actor(&signed).await?;
    h.service.logout(&actor).await?;
    expect_code(h.service.authenticate(signed.access.expose()).await, "unauthorized");
    expect_code(h.service.refresh(signed.refresh.expose()).await, "unauthorized");
    h.actor(&other).await?;
    let audit = h.ports.audit.list(&signed.workspace.workspace.id, 1).await?;
    assert_eq!(audit.first().map(|e| e.action.as_str()), Some("auth.logged_out"));
    Ok(())
}

pub async fn rate_limits_count_per_scope_and_identity(h: &Harness) -> anyhow::Result<()> {
    for n in 1..=RateScope::Register.limit() {
        let decision = h.service.rate_limit(RateScope::Register, "203.0.113.7").await?;
        assert!(decision.allowed, "hit {n} is allowed");
    }
    let refused = h.service.rate_limit(RateScope::Register, "203.0.113.7").await?;
    assert!(!refused.allowed);
    assert_eq!(refused.remaining, 0);
    assert!(h.service.rate_limit(RateScope::Register, "198.51.100.1").await?.allowed);
    assert!(h.service.rate_limit(RateScope::Login, "203.0.113.7").await?.allowed);
    h.clock.advance_ms(RateScope::Register.window_ms());
    assert!(h.service.rate_limit(RateScope::Register, "203.0.113.7").await?.allowed);
    Ok(())
}

pub async fn emails_fold_by_ascii_case_only(h: &Harness) -> anyhow::Result<()> {
    let kim = h.register("k@x.io").await?;
    let ws = &kim.workspace.workspace.id;
    let before = h.snapshot(ws).await?;
    // The Kelvin sign (U+212A) lower-cases to `k` under Unicode rules; it must reach no account.
    let kelvin = expect_code(h.register("\u{212A}@x.io").await, "invalid_email");
    assert_eq!(kelvin.kind(), ErrorKind::BadRequest);
    let login = |email: &'static str| h.service.login(email, PASSWORD, ClientKind::Api, None);
    expect_code(login("\u{212A}@x.io").await, "invalid_credentials");
    assert_eq!(h.snapshot(ws).await?, before, "a refused address changes nothing");
    assert_eq!(login("K@X.IO").await?.user, kim.user, "ASCII case still folds");
    Ok(())
}

pub async fn a_long_local_part_registers_with_a_derived_name(h: &Harness) -> anyhow::Result<()> {
    let email = format!("{}@example.com", "x".repeat(150));
    let signed = h.register(&email).await?;
    assert_eq!(signed.user.name.as_str(), format!("X{}", "x".repeat(99)));
    assert_eq!(h.service.login(&email, PASSWORD, ClientKind::Api, None).await?.user, signed.user);
    Ok(())
}
