//! OpenAI Chat Completions, `POST /v1/chat/completions` (protocols.md §4a, §5.2).
//!
//! - [`parse_request`]: request body → [`crate::ChatRequest`].
//! - [`ChatStreamEgress`]: [`crate::ChatEvent`]s → `data: {chunk}\n\n` frames.
//! - [`ChatCompletionAggregator`]: the same events → one `chat.completion` body.
//! - [`OpenAiError`]: every [`crate::ProtocolError`] as an OpenAI status and error body.

mod aggregate;
mod egress;
mod ingress;
mod wire;

#[cfg(test)]
mod tests;

pub use aggregate::ChatCompletionAggregator;
pub use egress::{ChatStreamConfig, ChatStreamEgress, OpenAiError};
pub use ingress::parse_request;
