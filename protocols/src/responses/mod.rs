//! The upstream Codex Responses protocol (protocols.md §1), both directions.
//!
//! - [`encode_request`]: canonical [`crate::ChatRequest`] → backend JSON body.
//! - [`ResponsesIngress`]: the `data` of each upstream SSE event → [`crate::ChatEvent`]s.
//! - [`fixup_responses_request`] / [`fixup_compact_request`]: a client's own Responses body →
//!   a body the backend accepts, for the passthrough routes.
//! - [`ToolNameMap`]: the 64-byte rule for tool names, and their restoration.

mod encode;
mod fixup;
mod ingress;
mod names;
mod wire;

#[cfg(test)]
mod tests;

pub use encode::{encode_request, EncodedRequest, INCLUDE_ENCRYPTED_REASONING};
pub use fixup::{
    fixup_compact_request, fixup_responses_request, FixedRequest, COMPACT_FIELDS, RESPONSES_FIELDS,
};
pub use ingress::ResponsesIngress;
pub use names::{shorten_id, ToolNameMap, MAX_ID_LEN};
