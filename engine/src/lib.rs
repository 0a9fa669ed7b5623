//! Zero-copy framing (SSE, NDJSON) and the stream driver of codex-pipe.
//!
//! This crate knows nothing about LLM protocols or audio: it turns bytes into frames and frames
//! into bytes.
