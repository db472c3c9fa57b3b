//! Bad input over HTTP: malformed JSON, wrong types, unknown fields, oversize bodies, wrong
//! content types, unknown routes and methods — each a clear 4xx with a stable code, none a 500,
//! none changing anything.

use crate::http::fixtures::{register, PASSWORD};
use crate::http::Api;
use serde_json::json;

pub async fn malformed_bodies_are_4xx_and_change_nothing(api: &Api) {
    let owner = register(api, "input").await;
    let invite = |body: &'static str, ct: Option<&'static str>| {
        api.req("POST", "/api/workspaces/current/invites").token(&owner.token).raw(body, ct)
    };
    let cases = [
        (invite("{\"email\":", Some("application/json")), 400, "invalid_json"),
        (invite("[1,2]", Some("application/json")), 400, "invalid_body"),
        (invite("{\"email\": 42}", Some("application/json")), 400, "invalid_body"),
        (invite("{\"email\": \"a@example.com\", \"admin\": true}", Some("application/json")), 400, "invalid_body"),
        (invite("{\"role\": \"member\"}", Some("application/json")), 400, "invalid_body"),
        (invite("email=a@example.com", Some("application/x-www-form-urlencoded")), 415, "unsupported_media_type"),
        (invite("{\"email\": \"a@example.com\"}", None), 415, "unsupported_media_type"),
    ];
    for (req, status, code) in cases {
        let r = req.send().await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.text);
        assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let huge = format!("{{\"email\": \"{}@example.com\"}}", "a".repeat(200_000));
    let r = api
        .req("POST", "/api/workspaces/current/invites")
        .token(&owner.token)
        .raw(huge, Some("application/json"))
        .send()
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));

    let r = api.get("/api/workspaces/current/members", &owner.token).await;
    assert_eq!(r.body["invites"].as_array().map(Vec::len), Some(0), "no refused call created an invite");
    let r = api.post("/api/auth/login", None, json!({ "email": owner.email, "password": PASSWORD, "extra": 1 })).await;
    assert_eq!((r.status, r.code()), (400, "invalid_body"));
}

pub async fn unknown_routes_and_methods_are_json(api: &Api) {
    let r = api.req("GET", "/api/nope").send().await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = api.req("GET", "/api/auth/register").send().await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    let r = api.req("DELETE", "/api/auth/me").send().await;
    assert_eq!(r.status, 405);
}

/// A version's notes are bounded and the strings a session starts with hold no control
/// characters; each refusal is a 400 naming its field and adds no version.
pub async fn version_notes_and_manifest_strings_are_bounded(api: &Api) {
    use burstflare_api::routes::{self, path};
    let owner = register(api, "versions").await;
    let r = api.post(routes::TEMPLATES, Some(&owner.token), json!({ "name": "bounded" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let template = r.body["template"]["id"].as_str().unwrap().to_string();
    let versions = path(routes::VERSIONS, &[&template]);
    let version = |label: &str, manifest: serde_json::Value, notes: String| {
        api.post(&versions, Some(&owner.token), json!({ "version": label, "manifest": manifest, "notes": notes }))
    };
    let image = json!({ "image": "node:22" });
    let cases = [
        (version("1", image.clone(), "n".repeat(1001)).await, "invalid_notes", "notes"),
        (version("1", json!({ "image": "node\u{0}:22" }), String::new()).await, "invalid_manifest", "manifest.image"),
        (
            version("1", json!({ "image": "node:22", "env": { "A": "x\u{0}y" } }), String::new()).await,
            "invalid_manifest",
            "manifest.env.A",
        ),
        (
            version("1", json!({ "image": "node:22", "command": ["sh", "-c\n"] }), String::new()).await,
            "invalid_manifest",
            "manifest.command[1]",
        ),
    ];
    for (r, code, field) in cases {
        assert_eq!((r.status, r.code()), (400, code), "{}", r.text);
        assert!(r.body["error"].as_str().is_some_and(|e| e.starts_with(field)), "{}", r.text);
    }
    let r = api.get(&path(routes::TEMPLATE, &[&template]), &owner.token).await;
    assert_eq!(r.body["template"]["versions"].as_array().map(Vec::len), Some(0), "{}", r.text);
    let r = version("1", image, format!(" {} ", "é".repeat(1000))).await;
    assert_eq!(r.status, 200, "1000 characters (trimmed) are allowed: {}", r.text);
}

/// Path parameters that do not decode and malformed query strings (a repeated parameter) are 400
/// in the JSON envelope, never axum's plain text.
pub async fn undecodable_paths_and_repeated_parameters_are_json(api: &Api) {
    let owner = register(api, "paths").await;
    let bad_paths = [
        ("GET", "/api/templates/%FF"),
        ("GET", "/api/templates/t/versions/%C3%28/bundle"),
        ("GET", "/api/template-builds/%FF"),
        ("POST", "/api/workspaces/current/members/%FF/role"),
    ];
    for (method, path) in bad_paths {
        let r = api.req(method, path).token(&owner.token).json(json!({ "role": "viewer" })).send().await;
        assert_eq!((r.status, r.code()), (400, "invalid_path"), "{method} {path}: {}", r.text);
        assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let r = api.req("PUT", "/api/uploads/%FF").raw(vec![1, 2, 3], Some("application/gzip")).send().await;
    assert_eq!((r.status, r.code()), (400, "invalid_path"), "{}", r.text);
    for path in
        ["/api/audit?limit=1&limit=2", "/api/releases?templateId=a&templateId=b", "/device?user_code=A&user_code=B"]
    {
        let r = api.req("GET", path).token(&owner.token).send().await;
        assert_eq!((r.status, r.code()), (400, "invalid_query"), "{path}: {}", r.text);
    }
    let r = api.get("/api/workspaces/current/members", &owner.token).await;
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(1), "nothing changed");
}
