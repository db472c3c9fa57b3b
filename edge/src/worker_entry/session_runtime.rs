//! `SessionRuntime`, the Durable Object of one session (named by the session id; declared in
//! `wrangler.toml`). The Worker forwards the session's lifecycle transitions and runtime
//! connections here (see [`super::routing`]); the object serves them with the same Router as
//! the Worker, one request at a time, so transitions of one session never interleave. D1 stays
//! the system of record: the object keeps no state of its own.

use super::events::compose;
use crate::app::router;
use futures_util::lock::Mutex;
use tower_service::Service as _;
// `#[durable_object]` expands to wasm-bindgen code that names the crate `wasm_bindgen`.
use worker::wasm_bindgen;
use worker::{durable_object, DurableObject, Env, HttpRequest, Request, Response, State};

#[durable_object(fetch)]
pub struct SessionRuntime {
    env: Env,
    /// Held for the whole of each request. Without it the runtime would interleave requests
    /// whenever one awaits D1 (the input gate only covers the object's own storage).
    turn: Mutex<()>,
}

impl DurableObject for SessionRuntime {
    fn new(_state: State, env: Env) -> Self {
        Self { env, turn: Mutex::new(()) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let _turn = self.turn.lock().await;
        let state = compose(&self.env)?;
        let response = router(state).call(HttpRequest::try_from(req)?).await?;
        Response::try_from(response)
    }
}
