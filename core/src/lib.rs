//! BurstFlare's domain core: validated values, entities, permission and plan rules, the use cases
//! (`Service`) and the driven-port traits they call. It does no I/O and draws neither time nor
//! randomness itself; adapters supply both through the traits in [`ports`].
#![forbid(unsafe_code)]

pub mod blob;
pub mod bundle;
pub mod error;
pub mod ids;
pub mod machines;
pub mod manifest;
pub mod model;
pub mod ports;
pub mod rate;
pub mod secret;
pub mod service;
pub mod session_keys;
pub mod store;
pub mod time;
pub mod values;

pub use error::{Code, Error, ErrorKind, Result};
pub use service::{Actor, Config, Service};
