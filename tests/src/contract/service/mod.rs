//! Use-case scenarios: `burstflare_core::Service` over each backend's ports, so the rules of the
//! domain are checked against real storage semantics, not only against the memory store.

pub mod auth;
pub mod builds;
pub mod device;
pub mod errors;
pub mod jobs;
pub mod maintenance;
pub mod members;
pub mod persist;
pub mod persist_deadline;
pub mod persist_delete;
pub mod persist_faults;
pub mod runtime_connect;
pub mod sessions;
pub mod snapshot_quota;
pub mod snapshot_reconcile;
pub mod snapshots;
pub mod uploads;
pub mod workspaces;
