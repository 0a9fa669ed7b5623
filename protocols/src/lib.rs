//! Wire types of every protocol codex-pipe speaks, and translation through one canonical model.
//!
//! Sans-IO: no HTTP, no runtime. Every function takes bytes or values and returns bytes or
//! values; the binary owns sockets, timers and retries.
//!
//! # Layout
//!
//! | module | role |
//! |---|---|
//! | [`canonical`] | [`ChatRequest`], [`ChatEvent`], [`Usage`], [`FinishReason`], [`ProtocolError`], [`UpstreamFailure`], [`ApiError`], [`JsonText`]: no protocol's spelling |
//! | [`translate`] | [`Translator`] (hold back, commit, in-band errors, folds; an `engine::Transcoder`), the [`Egress`] interface, [`Protocol`] (error shapes) |
//! | [`responses`] | the upstream Codex Responses protocol, both ways: [`responses::encode_request`] (canonical → backend body), [`responses::ResponsesIngress`] (upstream event data → [`ChatEvent`]s), the `/v1/responses` and `/responses/compact` passthrough fix-ups, [`responses::ToolNameMap`] |
//! | [`openai_chat`] | OpenAI Chat Completions: request ingress, [`openai_chat::ChatStreamEgress`] (SSE chunks), [`openai_chat::ChatCompletionAggregator`] (non-streaming body), the OpenAI error shape [`openai_chat::error_response`] |
//! | [`gemini`] | Gemini API `generateContent`: request ingress, [`gemini::GeminiStreamEgress`] (SSE or a streamed JSON array), [`gemini::GeminiAggregator`], Google's error shape, models and `countTokens` bodies |
//! | [`ollama`] | Ollama `/api/chat` and `/api/generate`: request ingress, [`ollama::OllamaStreamEgress`] (NDJSON), [`ollama::OllamaAggregator`], `{"error":…}`, the `/api/tags`, `/api/show`, `/api/ps` bodies |
//! | [`tokens`] | local o200k_base token counting for the `count_tokens` endpoints |
//! | [`anthropic`] | Anthropic Messages: request ingress (thinking signatures checked), [`anthropic::MessagesStreamEgress`] (named SSE events, `ping`), [`anthropic::MessagesAggregator`], the Anthropic error shape, local `count_tokens` |
//! | [`whisper`] | OpenAI audio transcriptions: form fields, the five response formats (`json`, `text`, `verbose_json`, `srt`, `vtt`) |
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
//! upstream SSE ─► engine::Drive(SseDecoder, Translator { ResponsesIngress, egress })
//!              ─► ChatStreamEgress (SSE chunks) | ChatCompletionAggregator (one JSON body)
//! ```
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use codex_pipe_engine::{SseEvent, Transcoder};
//! use codex_pipe_protocols::openai_chat::{ChatStreamConfig, ChatStreamEgress};
//! use codex_pipe_protocols::responses::ToolNameMap;
//! use codex_pipe_protocols::translate::Translator;
//!
//! let egress = ChatStreamEgress::new(ChatStreamConfig {
//!     id: "chatcmpl-1".into(),
//!     created: 1_700_000_000,
//!     model: "gpt-5.4".into(),
//!     include_usage: false,
//! });
//! let mut translator = Translator::new(ToolNameMap::default(), egress);
//! let mut out = BytesMut::new();
//! for data in [
//!     &br#"{"type":"response.created","response":{"id":"resp_1"}}"#[..],
//!     br#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"delta":"Hi"}"#,
//!     br#"{"type":"response.completed","response":{"id":"resp_1","output":[]}}"#,
//! ] {
//!     let event = SseEvent::new(None, Bytes::from_static(data));
//!     translator.on_frame(event, &mut out).expect("well-formed event");
//! }
//! translator.finish(&mut out).expect("completed");
//! assert!(out.ends_with(b"data: [DONE]\n\n"));
//! ```

pub mod anthropic;
pub mod canonical;
pub mod gemini;
pub mod models;
pub mod ollama;
pub mod openai_chat;
pub mod responses;
pub mod tokens;
pub mod translate;
pub mod whisper;

pub use canonical::{
    ApiError, ChatEvent, ChatRequest, ErrorResponse, FailureKind, FinishReason, JsonText,
    ProtocolError, UpstreamFailure, Usage,
};
pub use translate::{Egress, Protocol, Translator};
