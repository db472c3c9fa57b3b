//! Storage scenarios: each storage port's contract, exercised through `Ports` and `Write` batches
//! only, so every adapter is held to the same behaviour.

pub mod accounts;
pub mod audit_rate;
pub mod batch;
pub mod blobs;
pub mod concurrency;
pub mod departures;
pub mod devices;
pub mod invites;
pub mod jobs;
pub mod sessions;
pub mod templates;
pub mod tokens;
