//! BurstFlare's test suites, written once and run against every backend (see `ARCHITECTURE.md`).
#![forbid(unsafe_code)]

pub mod contract;
pub mod http;
