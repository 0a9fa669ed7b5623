//! The codex-pipe application: CLI, proxy server, auth, upstream client and simulated backend.
