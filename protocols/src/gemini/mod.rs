//! Gemini API `generateContent` family, served under `/v1` and `/v1beta` (protocols.md §4c,
//! §5.4; clients.md §3.3; gateways.md §6).
//!
//! - [`parse_request`] / [`parse_count_tokens`]: request body → [`crate::ChatRequest`] (the
//!   model comes from the path).
//! - [`GeminiStreamEgress`]: [`crate::ChatEvent`]s → `GenerateContentResponse` chunks, framed
//!   as SSE (`alt=sse`) or one streamed JSON array ([`Framing`]).
//! - [`GeminiAggregator`]: the same events → one `GenerateContentResponse` body.
//! - [`error_response`]: every [`crate::ApiError`] as `{"error":{"code","message","status"}}`.
//! - [`models_json`], [`model_json`], [`count_tokens_json`]: the other bodies.
//!
//! Both egresses implement [`crate::translate::Egress`] and run in one
//! [`crate::translate::Translator`]; neither has a keep-alive frame (a Gemini stream holds
//! nothing but `data:` lines).

mod aggregate;
mod egress;
mod error;
mod ingress;
mod models;
pub mod schema;
pub mod signature;
mod wire;

#[cfg(test)]
mod tests;

pub use aggregate::GeminiAggregator;
pub(crate) use egress::args_object;
pub use egress::{finish_reason, Framing, GeminiConfig, GeminiStreamEgress};
pub use error::{error_body, error_response, status_name};
pub use ingress::{effort_of_budget, parse_count_tokens, parse_request, SCHEMA_NAME};
pub use models::{count_tokens_json, model_id, model_json, models_json, GENERATION_METHODS};
