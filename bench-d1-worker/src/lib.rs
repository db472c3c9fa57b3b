//! The baseline of the Worker benchmark (`scripts/bench-worker`): a `fetch` that reads one row
//! of the `users` table by primary key from D1 and returns it as JSON, with nothing else in the
//! path (no Router, no tracing, no service). The real Worker's `GET /api/auth/me` is measured
//! against it in the same run, so the ratio is what the real Worker costs per request beyond
//! one D1 read in an isolate.
//!
//! `GET /users/{id}` answers `200` with the row, `404` when there is none or the path is another.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// The path prefix of the only route.
pub const USERS_PREFIX: &str = "/users/";

/// The columns the baseline reads (the password hash stays out, as in every API answer).
pub const SELECT_USER: &str = "SELECT id, email, name, created_at FROM users WHERE id = ?1";

/// One row of `users`, as read and as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: i64,
}

/// The user id of a request's path, `None` unless it is exactly `/users/{id}` with a non-empty id.
pub fn user_id(path: &str) -> Option<&str> {
    path.strip_prefix(USERS_PREFIX).filter(|id| !id.is_empty() && !id.contains('/'))
}

#[cfg(target_arch = "wasm32")]
mod worker_entry {
    //! The Worker's only event handler (wasm32).

    use super::{user_id, User, SELECT_USER};
    use worker::{event, Context, Env, Request, Response};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
        let path = req.path();
        let Some(id) = user_id(&path) else {
            return Response::error("not found", 404);
        };
        let statement = env.d1("DB")?.prepare(SELECT_USER).bind(&[id.into()])?;
        match statement.first::<User>(None).await? {
            Some(user) => Response::from_json(&user),
            None => Response::error("no such user", 404),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::user_id;

    #[test]
    fn only_a_single_id_segment_is_a_user_id() {
        assert_eq!(user_id("/users/usr_bench"), Some("usr_bench"));
        for path in ["/users/", "/users", "/users/a/b", "/api/auth/me", ""] {
            assert_eq!(user_id(path), None, "{path}");
        }
    }
}
