//! The `burstflare` command-line client of the BurstFlare control plane. It speaks the public HTTP
//! API described by `burstflare-api` and keeps the caller's sign_in in a private config file.
//!
//! Layout: [`args`] declares the command line, [`commands`] runs it, [`client`] does HTTP (with
//! transparent token refresh), [`config`] reads and writes the config file, [`password`] gets
//! passwords without flags, [`output`] prints, [`bundle`] packs template bundles, and [`error`] is
//! the one error type.
#![forbid(unsafe_code)]

pub mod args;
pub mod bundle;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod output;
pub mod password;
pub mod runtime;

pub use commands::run;
