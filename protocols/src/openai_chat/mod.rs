//! OpenAI Chat Completions, `POST /v1/chat/completions` (protocols.md §4a, §5.2).
//!
//! - [`parse_request`]: request body → [`crate::ChatRequest`].
//! - [`ChatStreamEgress`]: [`crate::ChatEvent`]s → `data: {chunk}\n\n` frames.
//! - [`ChatCompletionAggregator`]: the same events → one `chat.completion` body.
//! - [`error_response`]: every [`crate::ApiError`] as an OpenAI status and error body (also
//!   used by the Responses passthrough and the audio transcriptions).
//!
//! Both egresses implement [`crate::translate::Egress`], so the server runs them through one
//! [`crate::translate::Translator`].

mod aggregate;
mod egress;
mod error;
mod ingress;
mod wire;

#[cfg(test)]
mod tests;

pub use aggregate::ChatCompletionAggregator;
pub use egress::{finish_reason, ChatStreamConfig, ChatStreamEgress};
pub use error::{error_body, error_response, error_type};
pub use ingress::{parse_request, ParsedChat};
