//! The codex-pipe application: CLI, proxy server, auth, upstream client and simulated backend.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod metrics;
pub mod server;
pub mod sim;
pub mod transcribe;
pub mod upstream;
pub mod usage_log;
