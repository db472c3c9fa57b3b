//! Browser sign-ins over HTTP: the CSRF token is bound to the sign-in (an attacker who can plant
//! cookies cannot pick a matching cookie and header), it survives a refresh, and over https the
//! access cookies carry the `__Host-` prefix and only prefixed cookies are read.

use crate::http::client::Resp;
use crate::http::fixtures::{unique_email, PASSWORD};
use crate::http::Api;
use serde_json::json;

/// The value of cookie `name` set by `r`.
fn cookie(r: &Resp, name: &str) -> String {
    let prefix = format!("{name}=");
    let all = r.cookies();
    let found = all.iter().find(|c| c.starts_with(&prefix)).unwrap_or_else(|| panic!("no {name} in {all:?}"));
    found.split(';').next().unwrap_or_default()[prefix.len()..].to_string()
}

async fn browser_sign_up(api: &Api, tag: &str) -> Resp {
    let r = api.post("/api/auth/register", None, json!({ "email": unique_email(tag), "password": PASSWORD })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// A cookie-authenticated invite with `jar` and, if given, the CSRF header.
async fn invite(api: &Api, jar: &str, csrf: Option<&str>) -> Resp {
    let mut req = api.req("POST", "/api/workspaces/current/invites").header("cookie", jar);
    if let Some(csrf) = csrf {
        req = req.header("x-burstflare-csrf", csrf);
    }
    req.json(json!({ "email": unique_email("invitee"), "role": "member" })).send().await
}

pub async fn csrf_tokens_are_bound_to_the_sign_in(api: &Api) {
    let r = browser_sign_up(api, "bound").await;
    let (access, refresh, csrf) =
        (cookie(&r, "burstflare_access"), cookie(&r, "burstflare_refresh"), cookie(&r, "burstflare_csrf"));
    assert_eq!(r.body["csrfToken"].as_str(), Some(csrf.as_str()));

    // Planted by a sibling origin: a CSRF cookie and the header to match. Double submit took it.
    let planted = format!("bfc_{}", "a".repeat(64));
    let jar = format!("burstflare_access={access}; burstflare_csrf={planted}");
    let r = invite(api, &jar, Some(&planted)).await;
    assert_eq!((r.status, r.code()), (403, "csrf_failed"), "{}", r.text);
    // The attacker's own sign-in's token does not fit the victim's sign-in either.
    let attacker = browser_sign_up(&api.other_client(), "attacker").await;
    let theirs = cookie(&attacker, "burstflare_csrf");
    let jar = format!("burstflare_access={access}; burstflare_csrf={theirs}");
    assert_eq!(invite(api, &jar, Some(&theirs)).await.code(), "csrf_failed");
    // The real token works, whatever the CSRF cookie says.
    let jar = format!("burstflare_access={access}; burstflare_csrf={planted}");
    let r = invite(api, &jar, Some(&csrf)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A cookie refresh needs the token too, and is refused before anything rotates.
    let refresh_jar = format!("burstflare_refresh={refresh}");
    let r = api
        .req("POST", "/api/auth/refresh")
        .header("cookie", &refresh_jar)
        .header("x-burstflare-csrf", &planted)
        .send()
        .await;
    assert_eq!((r.status, r.code()), (403, "csrf_failed"), "{}", r.text);
    let r = api
        .req("POST", "/api/auth/refresh")
        .header("cookie", &refresh_jar)
        .header("x-burstflare-csrf", &csrf)
        .send()
        .await;
    assert_eq!(r.status, 200, "the refused refresh spent nothing: {}", r.text);
    // Same sign-in, same token, across the refresh.
    let (access, renewed) = (cookie(&r, "burstflare_access"), cookie(&r, "burstflare_csrf"));
    assert_eq!(renewed, csrf);
    let r = invite(api, &format!("burstflare_access={access}"), Some(&csrf)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

pub async fn secure_cookies_carry_the_host_prefix(api: &Api) {
    let email = unique_email("https");
    let r = api
        .req("POST", "/api/auth/register")
        .header("x-forwarded-proto", "https")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for c in r.cookies() {
        assert!(c.contains("; Secure") && !c.contains("Domain="), "{c}");
        assert!(c.starts_with("__Host-") || c.starts_with("__Secure-burstflare_refresh="), "{c}");
    }
    let (access, csrf) = (cookie(&r, "__Host-burstflare_access"), cookie(&r, "__Host-burstflare_csrf"));
    assert!(cookie(&r, "__Secure-burstflare_refresh").starts_with("bfr_"));
    let me = |jar: String| api.req("GET", "/api/auth/me").header("x-forwarded-proto", "https").header("cookie", &jar);
    assert_eq!(me(format!("__Host-burstflare_access={access}")).send().await.status, 200);
    // Over https, an unprefixed cookie (which any subdomain could have set) is not read.
    assert_eq!(me(format!("burstflare_access={access}")).send().await.status, 401);

    let r = api
        .req("POST", "/api/auth/logout")
        .header("x-forwarded-proto", "https")
        .header("cookie", &format!("__Host-burstflare_access={access}"))
        .header("x-burstflare-csrf", &csrf)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.cookies().iter().any(|c| c.starts_with("__Host-burstflare_access=;") && c.contains("Max-Age=0")));
}
