//! The scenarios of the HTTP suite, one module per area. Each is `async fn(&Api)` and asserts on
//! statuses, codes and bodies; refused calls are followed by a check that nothing changed.

pub mod auth;
pub mod authz;
pub mod browser;
pub mod departures;
pub mod device;
pub mod input;
pub mod large_snapshots;
pub mod sessions;
pub mod snapshots;
pub mod templates;
pub mod workspaces;
