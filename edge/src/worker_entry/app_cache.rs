//! The Worker's HTTP application, built once per isolate rather than once per request: composing
//! the Service over the bindings and inserting every route of the table into the Router is most
//! of what a cheap request costs in an isolate (see BENCHMARKS.md, "Worker under local workerd").
//!
//! Sound because the application holds only what lives as long as the isolate: the binding
//! objects of `env` (D1, R2, Queues, the Durable Object namespace) are not request-scoped I/O
//! objects (Workers lets them be used from the global scope), and the variables and the CSRF
//! secret are read from the same `env`. The platform may keep an isolate running when a deployment
//! changes only bindings, and hands it a new `env` then: the application is rebuilt whenever the
//! `env` of a request is not the object it was built from. A wasm isolate runs one thread, so
//! a thread-local is the isolate's one copy; the Router is cloned (reference counts) per request.

use super::events::compose;
use crate::app::router;
use axum::Router;
use std::cell::RefCell;
use worker::Env;

thread_local! {
    /// The application and the `env` it was built from.
    static APP: RefCell<Option<(Env, Router)>> = const { RefCell::new(None) };
}

/// The application over `env`'s bindings: the isolate's own when `env` is the object it was built
/// from, else a new one, kept for the next requests. A failed composition (a missing binding or
/// secret) is not kept, so every request reports it until the deployment is fixed.
pub(super) fn app(env: &Env) -> worker::Result<Router> {
    APP.with(|cell| {
        if let Some((built_from, app)) = cell.borrow().as_ref() {
            // `===` on the JS side: the same `env` object, hence the same bindings.
            if **built_from == **env {
                return Ok(app.clone());
            }
        }
        let app = router(compose(env)?);
        tracing::info!("composed the HTTP application for this isolate's env");
        *cell.borrow_mut() = Some((env.clone(), app.clone()));
        Ok(app)
    })
}
