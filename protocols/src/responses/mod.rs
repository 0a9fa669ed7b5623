//! The upstream Codex Responses protocol (protocols.md §1), both directions.
//!
//! - [`encode_request`]: canonical [`crate::ChatRequest`] → backend JSON body.
//! - [`ResponsesIngress`]: the `data` of each upstream SSE event → [`crate::ChatEvent`]s.
//! - [`fixup_responses_request`] / [`fixup_compact_request`]: a client's own Responses body →
//!   a body the backend accepts, for the passthrough routes.
//! - [`PassthroughStream`] / [`PassthroughCollect`]: the egresses of `/v1/responses`, which
//!   forward the backend's own events (streamed, or collected into the final response).
//! - [`ToolNameMap`]: the 64-byte rule for tool names, and their restoration.

mod encode;
mod fixup;
mod ingress;
mod names;
mod passthrough;
mod wire;

#[cfg(test)]
mod tests;

pub use encode::{encode_request, EncodedRequest, INCLUDE_ENCRYPTED_REASONING, TOOL_ERROR_PREFIX};
pub use fixup::{
    fixup_compact_object, fixup_compact_request, fixup_responses_object, fixup_responses_request,
    parse_object, resolve_model, FixedRequest, COMPACT_FIELDS, RESPONSES_FIELDS,
};
pub use ingress::ResponsesIngress;
pub use names::{shorten_id, ToolNameMap, MAX_ID_LEN};
pub use passthrough::{PassthroughCollect, PassthroughStream};
