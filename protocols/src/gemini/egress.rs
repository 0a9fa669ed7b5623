//! Canonical [`ChatEvent`]s → streamed `GenerateContentResponse` chunks, as SSE (`alt=sse`) or
//! as one JSON array streamed element by element (no `alt`).

use bytes::BytesMut;
use codex_pipe_engine::{JsonArrayEncoder, SseEncoder};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::canonical::{
    ApiError, Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError, Usage,
};
use crate::translate::{Egress, Protocol};

use super::error::envelope;
use super::signature;
use super::wire::{CandidateOut, ContentOut, FunctionCallOut, PartOut, ResponseOut, UsageOut};

/// How streamed chunks are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `?alt=sse`: `data: <chunk>\n\n` per chunk, nothing else (no `event:`, no comments, no
    /// `[DONE]`: google-genai parses any other line as JSON and fails, clients.md §3.3).
    Sse,
    /// No `alt`: one JSON array, `[` + chunks separated by `,` + `]` (what the Gemini API
    /// streams by default).
    JsonArray,
}

/// Identity of the chunks of one answer, chosen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeminiConfig {
    /// `modelVersion` of every chunk: the model the client named in the path.
    pub model: String,
}

/// The Gemini `finishReason`: `STOP` (also after function calls, as Gemini reports them),
/// `MAX_TOKENS`, `SAFETY`.
pub fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

/// `usageMetadata` from canonical usage: Gemini's `candidatesTokenCount` excludes the thoughts,
/// which are `thoughtsTokenCount`; `totalTokenCount` is the sum of all three.
pub(crate) fn usage_out(u: &Usage) -> UsageOut {
    let thoughts = u.reasoning_output_tokens.min(u.output_tokens);
    UsageOut {
        prompt_token_count: u.input_tokens,
        candidates_token_count: u.output_tokens - thoughts,
        total_token_count: u.total_tokens.max(u.input_tokens + u.output_tokens),
        cached_content_token_count: u.cached_input_tokens,
        thoughts_token_count: thoughts,
    }
}

/// A function call's accumulated arguments as a JSON object (`functionCall.args` is an object,
/// clients.md §3.3). Empty or invalid arguments become `{}`, with a warning.
pub(crate) fn args_object(arguments: JsonTextBuf) -> Box<RawValue> {
    let text = arguments.finish();
    let decoded = text.decode();
    let trimmed = decoded.trim();
    if trimmed.is_empty() {
        return empty_object();
    }
    match serde_json::from_str::<Box<RawValue>>(trimmed) {
        Ok(raw) if raw.get().starts_with('{') => raw,
        _ => {
            tracing::warn!(
                arguments = trimmed,
                "function call arguments are not a JSON object; sending {{}}"
            );
            empty_object()
        }
    }
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("{} is JSON")
}

/// One function call being streamed: block index, call id, name, argument fragments.
#[derive(Debug)]
pub(crate) struct PendingCall {
    pub index: u32,
    pub id: Box<str>,
    pub name: Box<str>,
    pub arguments: JsonTextBuf,
}

/// The Gemini streaming state machine (protocols.md §4c, §5.4; clients.md §3.3, gateways.md §6).
///
/// Every chunk is `{"candidates":[{"content":{"role":"model","parts":[…]},"index":0}],
/// "modelVersion","responseId"}` with one part:
/// - a text delta → `{"text":…}`; a reasoning delta → `{"text":…,"thought":true}` (empty
///   deltas are skipped: never an empty text part);
/// - a tool call, when its arguments are complete → `{"functionCall":{"id","name","args"}}`
///   with `args` an object and `id` the upstream call id (which the ingress maps back);
/// - the reasoning's `encrypted_content` → `thoughtSignature` (its URL-safe base64,
///   [`super::signature`]) on the first function call after it (newer Gemini clients require
///   one there; text parts stay free of it);
/// - the end → a chunk with only `finishReason` and `usageMetadata`.
///
/// An upstream failure after commit ([`Egress::write_error`]) is one last chunk
/// `{"error":{"code","message","status"}}` (google-genai raises it, clients.md §3.3). In
/// [`Framing::JsonArray`] the array is closed after the last chunk or the error.
#[derive(Debug)]
pub struct GeminiStreamEgress {
    config: GeminiConfig,
    framing: Framing,
    array: JsonArrayEncoder,
    response_id: Box<str>,
    calls: Vec<PendingCall>,
    signature: Option<JsonText>,
    usage: Option<Usage>,
    finished: bool,
}

impl GeminiStreamEgress {
    /// A state machine for one answer.
    pub fn new(config: GeminiConfig, framing: Framing) -> Self {
        Self {
            config,
            framing,
            array: JsonArrayEncoder::new(),
            response_id: Box::from(""),
            calls: Vec::new(),
            signature: None,
            usage: None,
            finished: false,
        }
    }

    fn frame<T: Serialize>(&mut self, out: &mut BytesMut, value: &T) -> Result<(), ProtocolError> {
        match self.framing {
            Framing::Sse => SseEncoder::json(out, None, value),
            Framing::JsonArray => self.array.element(out, value),
        }
        .map_err(ProtocolError::Serialize)
    }

    fn part(&mut self, out: &mut BytesMut, part: PartOut<'_>) -> Result<(), ProtocolError> {
        let parts = [part];
        let chunk = ResponseOut {
            candidates: [CandidateOut {
                content: Some(ContentOut {
                    role: "model",
                    parts: &parts,
                }),
                finish_reason: None,
                index: 0,
            }],
            usage_metadata: None,
            model_version: &self.config.model,
            response_id: &self.response_id,
        };
        let bytes = match self.framing {
            Framing::Sse => SseEncoder::json(out, None, &chunk),
            Framing::JsonArray => self.array.element(out, &chunk),
        };
        bytes.map_err(ProtocolError::Serialize)
    }

    fn finish(&mut self, reason: FinishReason, out: &mut BytesMut) -> Result<(), ProtocolError> {
        let model = std::mem::take(&mut self.config.model);
        let id = std::mem::take(&mut self.response_id);
        let chunk = ResponseOut {
            candidates: [CandidateOut {
                content: None,
                finish_reason: Some(finish_reason(reason)),
                index: 0,
            }],
            usage_metadata: Some(usage_out(&self.usage.unwrap_or_default())),
            model_version: &model,
            response_id: &id,
        };
        let result = self.frame(out, &chunk);
        self.config.model = model;
        self.response_id = id;
        result?;
        self.array_end(out);
        self.finished = true;
        Ok(())
    }

    fn array_end(&mut self, out: &mut BytesMut) {
        if self.framing == Framing::JsonArray {
            self.array.finish(out);
        }
    }

    fn call(&mut self, index: u32, out: &mut BytesMut) -> Result<(), ProtocolError> {
        let Some(pos) = self.calls.iter().position(|c| c.index == index) else {
            return Ok(());
        };
        let call = self.calls.remove(pos);
        let args = args_object(call.arguments);
        let signature = self.signature.take();
        self.part(
            out,
            PartOut {
                function_call: Some(FunctionCallOut {
                    id: &call.id,
                    name: &call.name,
                    args: &args,
                }),
                thought_signature: signature.as_ref(),
                ..PartOut::default()
            },
        )
    }
}

impl Egress for GeminiStreamEgress {
    fn protocol(&self) -> Protocol {
        Protocol::Gemini
    }

    fn is_streaming(&self) -> bool {
        true
    }

    fn content_type(&self) -> &'static str {
        match self.framing {
            Framing::Sse => "text/event-stream",
            Framing::JsonArray => "application/json",
        }
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.finished {
            return Ok(());
        }
        match event {
            ChatEvent::Start(start) => {
                self.response_id = start.id.clone();
                Ok(())
            }
            ChatEvent::BlockStart {
                index,
                block: Block::ToolCall { call_id, name },
            } => {
                self.calls.push(PendingCall {
                    index: *index,
                    id: call_id.clone(),
                    name: name.clone(),
                    arguments: JsonTextBuf::new(),
                });
                Ok(())
            }
            ChatEvent::TextDelta { text, .. } if !text.is_empty() => self.part(
                out,
                PartOut {
                    text: Some(text),
                    ..PartOut::default()
                },
            ),
            ChatEvent::ReasoningDelta { text, .. } if !text.is_empty() => self.part(
                out,
                PartOut {
                    text: Some(text),
                    thought: Some(true),
                    ..PartOut::default()
                },
            ),
            ChatEvent::ToolArgumentsDelta { index, arguments } => {
                if let Some(call) = self.calls.iter_mut().find(|c| c.index == *index) {
                    call.arguments.push(arguments);
                }
                Ok(())
            }
            ChatEvent::BlockStop {
                index,
                encrypted_content,
            } => {
                if let Some(sig) = encrypted_content.as_ref().filter(|s| !s.is_empty()) {
                    self.signature = Some(signature::encode(sig));
                }
                self.call(*index, out)
            }
            ChatEvent::Usage(usage) => {
                self.usage = Some(*usage);
                Ok(())
            }
            ChatEvent::Finish(reason) => self.finish(*reason, out),
            ChatEvent::BlockStart { .. }
            | ChatEvent::TextDelta { .. }
            | ChatEvent::ReasoningDelta { .. }
            | ChatEvent::Error(_) => Ok(()),
        }
    }

    fn write_error(&mut self, error: &ApiError, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.frame(out, &envelope(error)).is_err() {
            let fallback =
                br#"{"error":{"code":500,"message":"upstream error","status":"INTERNAL"}}"#;
            match self.framing {
                Framing::Sse => SseEncoder::data(out, None, fallback),
                Framing::JsonArray => out.extend_from_slice(fallback),
            }
        }
        self.array_end(out);
    }
}
