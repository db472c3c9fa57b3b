//! Reading the request's cookies and writing the browser sign-in cookies (`HttpOnly`,
//! `SameSite=Lax`; the CSRF cookie is readable by the page). When cookies are `Secure` they carry
//! the `__Host-` prefix (the refresh cookie, scoped to `/api/auth`, `__Secure-`), and only the
//! prefixed names are read, so a cookie planted by a sibling subdomain is never used.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use burstflare_api::{
    ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, SECURE_ACCESS_COOKIE, SECURE_CSRF_COOKIE, SECURE_REFRESH_COOKIE,
};

/// The names of the access cookies, and whether they are `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub secure: bool,
    pub access: &'static str,
    pub refresh: &'static str,
    pub csrf: &'static str,
}

impl Names {
    /// The prefixed names when `secure`, the plain ones otherwise.
    pub fn new(secure: bool) -> Self {
        if secure {
            Self { secure, access: SECURE_ACCESS_COOKIE, refresh: SECURE_REFRESH_COOKIE, csrf: SECURE_CSRF_COOKIE }
        } else {
            Self { secure, access: ACCESS_COOKIE, refresh: REFRESH_COOKIE, csrf: CSRF_COOKIE }
        }
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// One `Set-Cookie` value.
pub struct CookieSpec<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub max_age: i64,
    pub http_only: bool,
    pub secure: bool,
}

impl CookieSpec<'_> {
    fn render(&self) -> String {
        let mut out =
            format!("{}={}; Path={}; Max-Age={}; SameSite=Lax", self.name, self.value, self.path, self.max_age);
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        out
    }
}

/// Appends a `Set-Cookie` header.
pub fn set(headers: &mut HeaderMap, spec: CookieSpec<'_>) {
    if let Ok(value) = HeaderValue::from_str(&spec.render()) {
        headers.append(SET_COOKIE, value);
    }
}

/// The browser access: access token, refresh token (sent only to the auth routes) and the CSRF
/// token for the page to read.
pub fn set_sign_in_cookies(
    headers: &mut HeaderMap,
    names: Names,
    access: (&str, i64),
    refresh: (&str, i64),
    csrf: &str,
) {
    let secure = names.secure;
    let access =
        CookieSpec { name: names.access, value: access.0, path: "/", max_age: access.1, http_only: true, secure };
    set(headers, access);
    let refresh_cookie = CookieSpec {
        name: names.refresh,
        value: refresh.0,
        path: "/api/auth",
        max_age: refresh.1,
        http_only: true,
        secure,
    };
    set(headers, refresh_cookie);
    let csrf_cookie =
        CookieSpec { name: names.csrf, value: csrf, path: "/", max_age: refresh.1, http_only: false, secure };
    set(headers, csrf_cookie);
}

/// Expires every access cookie (`Max-Age=0`).
pub fn clear_sign_in_cookies(headers: &mut HeaderMap, names: Names) {
    for (name, path, http_only) in
        [(names.access, "/", true), (names.refresh, "/api/auth", true), (names.csrf, "/", false)]
    {
        set(headers, CookieSpec { name, value: "", path, max_age: 0, http_only, secure: names.secure });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; burstflare_access=bfa_x ; b=2"));
        assert_eq!(get(&headers, ACCESS_COOKIE).as_deref(), Some("bfa_x"));
        assert_eq!(get(&headers, "missing"), None);
    }

    #[test]
    fn sign_in_cookies_are_http_only_and_lax() {
        let mut headers = HeaderMap::new();
        set_sign_in_cookies(&mut headers, Names::new(false), ("bfa_a", 900), ("bfr_r", 60), "bfc_c");
        let all: Vec<_> = headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert!(all[0].starts_with("burstflare_access=bfa_a;"), "{}", all[0]);
        assert!(all[0].contains("HttpOnly") && all[0].contains("SameSite=Lax") && !all[0].contains("Secure"));
        assert!(all[1].contains("Path=/api/auth"));
        assert!(!all[2].contains("HttpOnly"));
    }

    #[test]
    fn secure_cookies_carry_the_host_prefix() {
        let mut headers = HeaderMap::new();
        set_sign_in_cookies(&mut headers, Names::new(true), ("bfa_a", 900), ("bfr_r", 60), "bfc_c");
        let all: Vec<_> = headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert!(all[0].starts_with("__Host-burstflare_access=") && all[0].contains("Path=/;"), "{}", all[0]);
        assert!(all[1].starts_with("__Secure-burstflare_refresh=") && all[1].contains("Path=/api/auth"));
        assert!(all[2].starts_with("__Host-burstflare_csrf="));
        assert!(all.iter().all(|c| c.contains("; Secure") && !c.contains("Domain")));
    }
}
