//! Reaching a running session: the WebSocket to its runtime ([`ws`]), the pinned host keys and
//! the managed `ssh` config ([`known_hosts`]), and the raw-mode terminal ([`terminal`]).

pub mod known_hosts;
pub mod terminal;
pub mod ws;
