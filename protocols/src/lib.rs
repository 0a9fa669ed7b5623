//! Wire types of every protocol codex-pipe speaks, and translation through one canonical model.
//!
//! Sans-IO: no HTTP, no runtime. Every function takes bytes or values and returns bytes or
//! values; the binary owns sockets, timers and retries.
//!
//! # Layout
//!
//! | module | role |
//! |---|---|
//! | [`canonical`] | [`ChatRequest`], [`ChatEvent`], [`Usage`], [`FinishReason`], [`ProtocolError`], [`JsonText`] |
//! | [`responses`] | the upstream Codex Responses protocol, both ways: [`responses::encode_request`] (canonical → backend body), [`responses::ResponsesIngress`] (upstream event data → [`ChatEvent`]s), the `/v1/responses` and `/responses/compact` passthrough fix-ups, [`responses::ToolNameMap`] |
//! | [`openai_chat`] | OpenAI Chat Completions: request ingress, [`openai_chat::ChatStreamEgress`] (SSE chunks), [`openai_chat::ChatCompletionAggregator`] (non-streaming body), [`openai_chat::OpenAiError`] |
//! | [`models`] | the model catalog, `-high` / `-fast` suffixes, aliases |
//!
//! Each client protocol folder has the same files: `wire.rs` (serde types, borrowed on the way
//! in), `ingress.rs` (wire → canonical), `egress.rs` (canonical → wire bytes), `tests.rs`.
//!
//! # How the binary wires it (Chat Completions)
//!
//! ```text
//! request body ─► openai_chat::parse_request ─► ChatRequest ─► ModelCatalog::apply
//!              ─► responses::encode_request ─► (body, ToolNameMap) ─► POST upstream
//! upstream SSE ─► engine::SseDecoder ─► event.data ─► ResponsesIngress::push ─► ChatEvent*
//!              ─► ChatStreamEgress::write ─► BytesMut ─► client
//!                 (or ChatCompletionAggregator::push … finish ─► JSON body)
//! ```
//!
//! ```
//! use bytes::BytesMut;
//! use codex_pipe_protocols::openai_chat::{ChatStreamConfig, ChatStreamEgress};
//! use codex_pipe_protocols::responses::{ResponsesIngress, ToolNameMap};
//!
//! let mut ingress = ResponsesIngress::new(ToolNameMap::default());
//! let mut egress = ChatStreamEgress::new(ChatStreamConfig {
//!     id: "chatcmpl-1".into(),
//!     created: 1_700_000_000,
//!     model: "gpt-5.4".into(),
//!     include_usage: false,
//! });
//! let mut events = Vec::new();
//! let mut out = BytesMut::new();
//! for data in [
//!     &br#"{"type":"response.created","response":{"id":"resp_1"}}"#[..],
//!     br#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"delta":"Hi"}"#,
//!     br#"{"type":"response.completed","response":{"id":"resp_1","output":[]}}"#,
//! ] {
//!     ingress.push(data, &mut events).expect("well-formed event");
//!     for event in events.drain(..) {
//!         egress.write(&event, &mut out).expect("serializes");
//!     }
//! }
//! assert!(out.ends_with(b"data: [DONE]\n\n"));
//! ```

pub mod canonical;
pub mod models;
pub mod openai_chat;
pub mod responses;

pub use canonical::{
    ChatEvent, ChatRequest, FinishReason, JsonText, ProtocolError, UpstreamFailure, Usage,
};
