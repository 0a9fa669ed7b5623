//! `codex-pipe-proxy` end to end, in one test binary (one link, one build): the whole router
//! served on loopback in-process, the simulated backend behind it, real clients in front
//! (reqwest, async-openai, the official OpenAI and Anthropic Python SDKs, Claude Code).

mod anthropic;
mod async_openai;
mod chat;
mod codex_oss;
mod gemini;
mod limits;
mod ollama;
mod reliability;
mod transcription_sdk;
mod transcriptions;
