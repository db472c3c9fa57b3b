//! Device authorization over HTTP: pending until approved, tokens exactly once, denial, unknown
//! codes, and the approval page's old address.

use crate::http::fixtures::register;
use crate::http::Api;
use serde_json::json;

async fn start(api: &Api) -> (String, String) {
    let r = api.other_client().post("/api/cli/device/start", None, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["verificationUriComplete"].as_str().unwrap_or_default().contains("user_code="));
    assert!(r.body["interval"].as_i64().unwrap_or(0) >= 1);
    (r.body["deviceCode"].as_str().unwrap().to_string(), r.body["userCode"].as_str().unwrap().to_string())
}

pub async fn device_flow_issues_tokens_once(api: &Api) {
    let user = register(api, "dev").await;
    let (device_code, user_code) = start(api).await;
    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": device_code })).await;
    assert_eq!((r.status, r.code()), (400, "authorization_pending"));

    let r =
        api.post("/api/cli/device/approve", Some(&user.token), json!({ "userCode": user_code.to_lowercase() })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.post("/api/cli/device/approve", Some(&user.token), json!({ "userCode": user_code })).await;
    assert_eq!((r.status, r.code()), (409, "device_code_decided"));

    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": device_code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["tokenKind"], "api");
    assert_eq!(r.body["user"]["id"], user.user_id.as_str());
    let token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(api.get("/api/auth/me", &token).await.status, 200);

    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": device_code })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_grant"));
}

pub async fn denied_and_unknown_codes(api: &Api) {
    let user = register(api, "deny").await;
    let (device_code, user_code) = start(api).await;
    let r = api
        .post("/api/cli/device/approve", Some(&user.token), json!({ "userCode": user_code, "approve": false }))
        .await;
    assert_eq!(r.status, 200);
    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": device_code })).await;
    assert_eq!((r.status, r.code()), (400, "access_denied"));

    let r = api.post("/api/cli/device/approve", Some(&user.token), json!({ "userCode": "ZZZZ-ZZZZ" })).await;
    assert_eq!((r.status, r.code()), (404, "device_code_not_found"));
    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": "bfd_unknown" })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_grant"));
    let r = api.post("/api/cli/device/exchange", None, json!({ "deviceCode": user.token })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_grant"), "an access token is not a device code");
    let r = api.post("/api/cli/device/approve", None, json!({ "userCode": user_code })).await;
    assert_eq!(r.status, 401);
}

/// `/device`, the approval page's old address, redirects to the app's page (the API's
/// `verificationUri`), keeping the code as one query value.
pub async fn device_page_redirects_to_the_app(api: &Api) {
    let r = api.other_client().post("/api/cli/device/start", None, json!({})).await;
    let code = r.body["userCode"].as_str().unwrap();
    assert_eq!(r.body["verificationUri"], "/approve");
    assert_eq!(r.body["verificationUriComplete"].as_str(), Some(format!("/approve?user_code={code}").as_str()));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (query, location) in [
        ("?user_code=WXYZ-BCDF", "/approve?user_code=WXYZ-BCDF"),
        ("?user_code=%3Cscript%3E%26x%3D1", "/approve?user_code=%3Cscript%3E%26x%3D1"),
        ("", "/approve"),
    ] {
        let r =
            http.get(format!("{}/device{query}", api.base)).header("x-forwarded-for", &api.ip).send().await.unwrap();
        assert_eq!(r.status(), 308, "/device{query}");
        assert_eq!(r.headers()["location"], location, "/device{query}");
    }
}
