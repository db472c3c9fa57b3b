//! Previews on their own origin: a request whose `Host` is `<session uuid>.<preview domain>`
//! (natively `*.preview.localhost`, which browsers resolve to loopback with no DNS setup) is a
//! preview of that session, whatever its path. The API's cookies are never sent there (another
//! origin), so a previewed app cannot act as the user. A link from the API carries a short-lived
//! pass in `?burstflare_preview=`, traded here for this origin's own cookie (and a redirect that
//! drops it from the address bar); the cookie is checked, with the user's membership, on every
//! request.

use super::relay;
use crate::app::AppState;
use crate::cookies::{self, CookieSpec};
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use burstflare_core::ids::SessionId;
use burstflare_core::service::PREVIEW_PASS_SECONDS;
use burstflare_core::service::{RuntimeCaller, RuntimeUse};

/// The link's query parameter and the preview origin's cookie.
pub const PASS_PARAM: &str = "burstflare_preview";

/// The session a `Host` header names under the preview domain, if it does.
pub fn session_of_host(host: &str, domain: &str) -> Option<SessionId> {
    let name = host.rsplit_once(':').map_or(host, |(name, port)| if port.parse::<u16>().is_ok() { name } else { host });
    let label = name.to_ascii_lowercase().strip_suffix(&format!(".{}", domain.to_ascii_lowercase()))?.to_string();
    let uuid = uuid::Uuid::parse_str(&label).ok()?;
    (label.len() == 36).then(|| SessionId::from_uuid(uuid))
}

/// Middleware: previews for preview hosts, the API for everything else.
pub async fn route(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    let session = state.preview_domain.as_deref().zip(host).and_then(|(domain, host)| session_of_host(host, domain));
    match session {
        Some(session) => serve(state, session, request).await,
        None => next.run(request).await,
    }
}

async fn serve(state: AppState, id: SessionId, request: Request) -> Response {
    if let Some((pass, rest)) = pass_in_query(request.uri()) {
        return match state.service.preview_caller(&pass, &id).await {
            Ok(caller) => trade_for_cookie(&state, &caller, &id, &request, &rest),
            Err(e) => refused(e.into()),
        };
    }
    let Some(pass) = cookies::get(request.headers(), PASS_PARAM) else {
        return refused(ApiError::unauthorized());
    };
    let caller = match state.service.preview_caller(&pass, &id).await {
        Ok(caller) => caller,
        Err(e) => return refused(e.into()),
    };
    let connection = match state.service.connect_runtime(&caller, &id, RuntimeUse::Preview).await {
        Ok(connection) => connection,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    relay(&state, &connection, request, &format!("/preview{path}"), None).await
}

/// Sets this origin's cookie and sends the browser to the same address without the pass.
fn trade_for_cookie(
    state: &AppState,
    caller: &RuntimeCaller,
    id: &SessionId,
    request: &Request,
    rest: &str,
) -> Response {
    let pass = match state.service.renew_preview_pass(caller, id) {
        Ok(pass) => pass,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let secure = state.force_secure_cookies;
    let mut response = StatusCode::SEE_OTHER.into_response();
    let location =
        if rest.is_empty() { request.uri().path().to_string() } else { format!("{}?{rest}", request.uri().path()) };
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    cookies::set(
        response.headers_mut(),
        CookieSpec {
            name: PASS_PARAM,
            value: &pass,
            path: "/",
            max_age: PREVIEW_PASS_SECONDS,
            http_only: true,
            secure,
        },
    );
    response
}

fn refused(error: ApiError) -> Response {
    let mut response = error.into_response();
    let hint = "Open this preview from BurstFlare: `burstflare preview SESSION`, or the session's page.";
    if let Ok(hint) = HeaderValue::from_str(hint) {
        response.headers_mut().insert("x-burstflare-hint", hint);
    }
    response
}

/// The pass in the query, and the rest of the query without it.
fn pass_in_query(uri: &Uri) -> Option<(String, String)> {
    let query = uri.query()?;
    let prefix = format!("{PASS_PARAM}=");
    let pass = query.split('&').find_map(|pair| pair.strip_prefix(&prefix))?.to_string();
    let rest = query.split('&').filter(|pair| !pair.starts_with(&prefix)).collect::<Vec<_>>().join("&");
    Some((pass, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0b7f3c2e-8c1a-4e59-9d2f-3f6a1b2c4d5e";

    #[test]
    fn preview_hosts_name_a_session_and_nothing_else_does() {
        let id = session_of_host(&format!("{UUID}.preview.localhost:8787"), "preview.localhost").unwrap();
        assert_eq!(id.as_str(), format!("ses_{UUID}"));
        assert!(session_of_host(&format!("{}.Preview.LocalHost", UUID.to_uppercase()), "preview.localhost").is_some());
        for host in ["127.0.0.1:8787", "preview.localhost", "x.preview.localhost", &format!("{UUID}.evil.test")] {
            assert_eq!(session_of_host(host, "preview.localhost"), None, "{host}");
        }
        assert_eq!(session_of_host(&format!("a.{UUID}.preview.localhost"), "preview.localhost"), None);
    }

    #[test]
    fn the_pass_leaves_the_query() {
        let uri: Uri = "/a?x=1&burstflare_preview=p.q&y=2".parse().unwrap();
        assert_eq!(pass_in_query(&uri), Some(("p.q".to_string(), "x=1&y=2".to_string())));
        assert_eq!(pass_in_query(&"/a?x=1".parse().unwrap()), None);
    }
}
