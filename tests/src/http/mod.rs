//! The HTTP end-to-end suite: scenarios written once against a base URL, so the same suite runs
//! against the native server (started on port 0) and against the Worker under workerd (set
//! `BURSTFLARE_TEST_URL`). Every scenario makes its own users, so scenarios can share a server.

pub mod bundles;
pub mod client;
pub mod fixtures;
pub mod raw;
pub mod scenarios;
pub mod server;

pub use client::{Api, Resp};
pub use fixtures::{register, Account};
