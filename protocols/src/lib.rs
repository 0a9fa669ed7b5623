//! Wire types of every protocol codex-pipe speaks, and translation through one canonical model.
//!
//! Sans-IO: no HTTP, no runtime.
