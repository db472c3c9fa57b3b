//! The state machines of the domain, each one pure function from (state, event) to the new
//! state with every dependent field set, or a refusal. Use cases call them and commit what they
//! return; adapters store rows as given and never decide a status or a row version themselves.

pub mod builds;
pub mod devices;
pub mod invites;
pub mod sessions;
