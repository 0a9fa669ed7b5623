//! Anthropic Messages, `POST /v1/messages` and `/v1/messages/count_tokens` (protocols.md §4b,
//! §5.3, §5.7; clients.md §3.2, §5; gateways.md §1–§3).
//!
//! - [`parse_request`]: request body → [`crate::ChatRequest`], thinking blocks checked against
//!   the [`SignatureKey`] (a signature this proxy did not issue is dropped).
//! - [`MessagesStreamEgress`]: [`crate::ChatEvent`]s → named SSE events (`message_start` …
//!   `message_stop`), `ping` as the keep-alive frame.
//! - [`MessagesAggregator`]: the same events → one `message` body.
//! - [`error_response`]: every [`crate::ApiError`] as Anthropic's status (529 for overloaded)
//!   and `{"type":"error","error":{type,message}}` body.
//! - [`count_tokens`]: the local token count (o200k_base).
//!
//! Both egresses implement [`crate::translate::Egress`], so the server runs them through one
//! [`crate::translate::Translator`].

mod aggregate;
mod count;
mod egress;
mod error;
mod ingress;
pub mod signature;
mod wire;

#[cfg(test)]
mod tests;

pub use aggregate::MessagesAggregator;
pub use count::{count_text, count_tokens, image_size, image_tokens, UNKNOWN_IMAGE_TOKENS};
pub use egress::{stop_reason, MessagesConfig, MessagesStreamEgress, PING};
pub use error::{error_body, error_response, error_type, OVERLOADED_STATUS};
pub use ingress::{
    budget_effort, cache_key_of, parse_request, ParsedMessages, BILLING_HEADER_PREFIX,
};
pub use signature::{SignatureKey, SIGNATURE_PREFIX};
