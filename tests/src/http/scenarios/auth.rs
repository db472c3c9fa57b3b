//! Accounts and tokens over HTTP: register, login, refresh rotation and reuse, logout, token
//! kinds, cookies and CSRF, rate limits.

use crate::http::fixtures::{register, unique_email, Account, PASSWORD};
use crate::http::Api;
use serde_json::json;

pub async fn health_reports_the_deployment(api: &Api) {
    let r = api.req("GET", "/api/health").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["ok"], true);
    assert_eq!(r.body["service"], "burstflare");
    assert!(r.body["storage"].is_string());
    assert!(r.body["runtime"]["available"].is_boolean());
    assert!(r.body["version"].is_string());
}

pub async fn register_login_and_me(api: &Api) {
    let email = unique_email("ada");
    let r = api.post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD, "kind": "api" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["workspace"]["role"], "owner");
    assert_eq!(r.body["workspace"]["plan"], "free");
    assert_eq!(r.body["tokenKind"], "api");
    assert!(r.cookies().is_empty(), "api sign-ins set no cookies");
    let owner = Account::from_payload(&email, &r);

    let again = api.other_client();
    let r =
        again.post("/api/auth/register", None, json!({ "email": email.to_uppercase(), "password": PASSWORD })).await;
    assert_eq!((r.status, r.code()), (409, "email_taken"));

    let r = api.get("/api/auth/me", &owner.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["email"], email);
    assert_eq!(r.body["membership"]["role"], "owner");
    assert_eq!(r.body["workspace"]["memberCount"], 1);

    let r = api.post("/api/auth/login", None, json!({ "email": email, "password": PASSWORD, "kind": "api" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["workspace"]["id"], owner.workspace_id.as_str());

    let wrong = api.post("/api/auth/login", None, json!({ "email": email, "password": "not the password" })).await;
    let unknown =
        api.post("/api/auth/login", None, json!({ "email": unique_email("nobody"), "password": PASSWORD })).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!((unknown.status, unknown.code()), (401, "invalid_credentials"));
    assert_eq!(wrong.body["error"], unknown.body["error"]);
}

pub async fn registration_validates_input(api: &Api) {
    let cases = [
        (json!({ "email": "not-an-email", "password": PASSWORD }), "invalid_email"),
        (json!({ "email": "", "password": PASSWORD }), "email_required"),
        (json!({ "email": unique_email("weak"), "password": "short" }), "weak_password"),
        (json!({ "email": unique_email("kind"), "password": PASSWORD, "kind": "robot" }), "invalid_kind"),
        (json!({ "email": unique_email("name"), "password": PASSWORD, "name": "  " }), "invalid_name"),
    ];
    for (body, code) in cases {
        let r = api.other_client().post("/api/auth/register", None, body.clone()).await;
        assert_eq!((r.status, r.code()), (400, code), "{body}");
    }
}

pub async fn refresh_rotates_and_reuse_revokes_the_family(api: &Api) {
    let user = register(api, "rot").await;
    let r = api.post("/api/auth/refresh", None, json!({ "refreshToken": user.refresh })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rotated = Account::from_payload(&user.email, &r);
    assert_ne!(rotated.refresh, user.refresh);
    assert_eq!(api.get("/api/auth/me", &rotated.token).await.status, 200);

    let reuse = api.post("/api/auth/refresh", None, json!({ "refreshToken": user.refresh })).await;
    assert_eq!((reuse.status, reuse.code()), (401, "refresh_token_reused"));
    // The whole family is gone: the rotated pair no longer works either.
    assert_eq!(api.get("/api/auth/me", &rotated.token).await.status, 401);
    let r = api.post("/api/auth/refresh", None, json!({ "refreshToken": rotated.refresh })).await;
    assert_eq!(r.status, 401);
    // A separate sign-in is unaffected.
    assert_eq!(api.get("/api/auth/me", &user.token).await.status, 401, "the original access shares the family");
    let r =
        api.post("/api/auth/login", None, json!({ "email": user.email, "password": PASSWORD, "kind": "api" })).await;
    assert_eq!(r.status, 200);
}

pub async fn token_kinds_are_enforced(api: &Api) {
    let user = register(api, "kinds").await;
    assert_eq!(api.get("/api/auth/me", &user.refresh).await.status, 401, "refresh token is not an access token");
    let r = api.post("/api/auth/refresh", None, json!({ "refreshToken": user.token })).await;
    assert_eq!((r.status, r.code()), (401, "refresh_token_required"));
    assert_eq!(api.get("/api/auth/me", "bfa_0000").await.status, 401);
    let r = api.req("GET", "/api/auth/me").send().await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    let r = api.req("GET", "/api/auth/me").header("authorization", "Basic abc").send().await;
    assert_eq!(r.status, 401);
}

pub async fn logout_revokes_access_and_refresh(api: &Api) {
    let user = register(api, "bye").await;
    let r = api.post("/api/auth/logout", Some(&user.token), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(api.get("/api/auth/me", &user.token).await.status, 401);
    let r = api.post("/api/auth/refresh", None, json!({ "refreshToken": user.refresh })).await;
    assert_eq!(r.status, 401);
    assert_eq!(api.post("/api/auth/logout", Some(&user.token), json!({})).await.status, 401);
}

pub async fn browser_sign_ins_use_cookies_and_csrf(api: &Api) {
    let email = unique_email("web");
    let r = api.post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookies = r.cookies();
    let access = cookies.iter().find(|c| c.starts_with("burstflare_access=")).expect("access cookie");
    assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"), "{access}");
    let value = |name: &str| {
        let c = cookies.iter().find(|c| c.starts_with(&format!("{name}="))).expect("cookie");
        c.split(';').next().unwrap_or_default().split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default()
    };
    let (access, csrf) = (value("burstflare_access"), value("burstflare_csrf"));
    assert_eq!(r.body["csrfToken"].as_str(), Some(csrf.as_str()));
    let jar = format!("burstflare_access={access}; burstflare_csrf={csrf}");

    let r = api.req("GET", "/api/auth/me").header("cookie", &jar).send().await;
    assert_eq!(r.status, 200, "cookie reads need no CSRF header");
    let invite = json!({ "email": unique_email("x"), "role": "member" });
    let r = api.req("POST", "/api/workspaces/current/invites").header("cookie", &jar).json(invite.clone()).send().await;
    assert_eq!((r.status, r.code()), (403, "csrf_failed"));
    let r = api
        .req("POST", "/api/workspaces/current/invites")
        .header("cookie", &jar)
        .header("x-burstflare-csrf", "bfc_wrong")
        .json(invite.clone())
        .send()
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .req("POST", "/api/workspaces/current/invites")
        .header("cookie", &jar)
        .header("x-burstflare-csrf", &csrf)
        .json(invite)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = api.req("POST", "/api/auth/logout").header("cookie", &jar).header("x-burstflare-csrf", &csrf).send().await;
    assert_eq!(r.status, 200);
    assert!(r.cookies().iter().any(|c| c.starts_with("burstflare_access=;") && c.contains("Max-Age=0")));
    assert_eq!(api.req("GET", "/api/auth/me").header("cookie", &jar).send().await.status, 401);
}

pub async fn rate_limits_count_per_client_ip(api: &Api) {
    let client = api.other_client();
    for i in 1..=4 {
        let r = client.post("/api/auth/register", None, json!({ "email": "bad", "password": PASSWORD })).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.header("x-burstflare-rate-limit-limit"), Some("4"));
        assert_eq!(r.header("x-burstflare-rate-limit-remaining"), Some((4 - i).to_string().as_str()));
        assert!(r.header("x-burstflare-rate-limit-reset").is_some());
    }
    let email = unique_email("limited");
    let r = client.post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    // Refused, so nothing was created: the same email registers fine from another client.
    let r = api.other_client().post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Behind a proxy that appends to `x-forwarded-for`, what the client wrote before the proxy's
/// entry is not its identity: rotating it does not get past the limit.
pub async fn forwarded_for_counts_the_address_the_proxy_added(api: &Api) {
    let client = api.other_client();
    for i in 1..=6 {
        let spoofed = format!("203.0.113.{i}, {}", client.ip);
        let r = client
            .req("POST", "/api/auth/register")
            .forwarded_for(&spoofed)
            .json(json!({ "email": "bad", "password": PASSWORD }))
            .send()
            .await;
        let expected = if i <= 4 { (400, "invalid_email") } else { (429, "rate_limited") };
        assert_eq!((r.status, r.code()), expected, "attempt {i}: {}", r.text);
    }
}
