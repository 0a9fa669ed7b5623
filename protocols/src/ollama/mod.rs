//! Ollama's API (protocols.md §4d, §5.5; clients.md §3.4, §4; gateways.md §7), for Open WebUI,
//! Continue, VS Code, the ollama clients and Codex `--oss`.
//!
//! - [`parse_chat`] / [`parse_generate`]: `/api/chat` and `/api/generate` bodies →
//!   [`crate::ChatRequest`].
//! - [`OllamaStreamEgress`]: [`crate::ChatEvent`]s → NDJSON lines (`application/x-ndjson`).
//! - [`OllamaAggregator`]: the same events → the one object of `"stream": false`.
//! - [`error_response`]: every [`crate::ApiError`] as `{"error":"…"}` with its status.
//! - [`version_json`], [`tags_json`], [`ps_json`], [`show_json`], [`PULL_SUCCESS`]: the model
//!   routes.
//!
//! Both egresses implement [`crate::translate::Egress`] and run in one
//! [`crate::translate::Translator`]; NDJSON has no keep-alive frame (a blank line would break
//! the Python client).

mod aggregate;
mod api;
mod egress;
mod error;
mod ingress;
mod wire;

#[cfg(test)]
mod tests;

pub use aggregate::OllamaAggregator;
pub use api::{
    ps_json, requested_model, rfc3339, show_json, tags_json, version_json, CAPABILITIES,
    OLLAMA_VERSION, PULL_STREAM, PULL_SUCCESS, ROOT_TEXT,
};
pub use egress::{done_reason, Endpoint, OllamaConfig, OllamaStreamEgress};
pub use error::{error_body, error_response};
pub use ingress::{model_name, parse_chat, parse_generate, ParsedOllama, SCHEMA_NAME};
