//! Canonical [`ChatEvent`]s → streamed `GenerateContentResponse` chunks, as SSE (`alt=sse`) or
//! as one JSON array streamed element by element (no `alt`).

use bytes::{BufMut, BytesMut};
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

/// `]},"index":0}],"modelVersion":<model>,"responseId":<id>}`, the end of a content chunk
/// with one part.
fn render_tail(model: &str, response_id: &str) -> Vec<u8> {
    let mut tail = br#"]},"index":0}],"modelVersion":"#.to_vec();
    tail.extend_from_slice(JsonText::new(model).as_json().as_bytes());
    tail.extend_from_slice(br#","responseId":"#);
    tail.extend_from_slice(JsonText::new(response_id).as_json().as_bytes());
    tail.push(b'}');
    tail
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
///
/// Framing is the same as `engine::SseEncoder` (`data: <json>\n\n`) and
/// `engine::JsonArrayEncoder` (`[` / `,` + element + `\n`, then `]`), written here directly:
/// the text and thought chunks (nearly every chunk) are a pre-rendered head, the delta's JSON
/// literal and a tail rendered once per answer (`modelVersion`, `responseId`), so the hot path
/// is three copies and no serializer.
#[derive(Debug)]
pub struct GeminiStreamEgress {
    config: GeminiConfig,
    framing: Framing,
    /// Array framing: an element was written (`[` is open).
    opened: bool,
    response_id: Box<str>,
    /// `]},"index":0}],"modelVersion":…,"responseId":…}`: the end of a content chunk.
    tail: Vec<u8>,
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
            opened: false,
            response_id: Box::from(""),
            tail: Vec::new(),
            calls: Vec::new(),
            signature: None,
            usage: None,
            finished: false,
        }
    }

    /// Writes what precedes one chunk: `data: `, or `[` / `,`.
    fn open(&mut self, out: &mut BytesMut) {
        match self.framing {
            Framing::Sse => out.put_slice(b"data: "),
            Framing::JsonArray => out.put_u8(if self.opened { b',' } else { b'[' }),
        }
    }

    /// Writes what follows one chunk: a blank line, or `\n` between array elements.
    fn close(&mut self, out: &mut BytesMut) {
        match self.framing {
            Framing::Sse => out.put_slice(b"\n\n"),
            Framing::JsonArray => {
                self.opened = true;
                out.put_u8(b'\n');
            }
        }
    }

    /// One chunk serialized from `value`; on error `out` is left as it was.
    fn frame<T: Serialize>(&mut self, out: &mut BytesMut, value: &T) -> Result<(), ProtocolError> {
        let start = out.len();
        self.open(out);
        let mut writer = out.writer();
        if let Err(e) = serde_json::to_writer(&mut writer, value) {
            writer.into_inner().truncate(start);
            return Err(ProtocolError::Serialize(e));
        }
        self.close(out);
        Ok(())
    }

    /// A text or thought chunk: head, `{"text":<literal>[,"thought":true]}`, tail.
    fn text(&mut self, out: &mut BytesMut, text: &JsonText, thought: bool) {
        const HEAD: &[u8] = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"#;
        if self.tail.is_empty() {
            self.tail = render_tail(&self.config.model, &self.response_id);
        }
        self.open(out);
        out.put_slice(HEAD);
        out.put_slice(text.as_json().as_bytes());
        if thought {
            out.put_slice(br#","thought":true"#);
        }
        out.put_u8(b'}');
        out.put_slice(&self.tail);
        self.close(out);
    }

    /// A chunk with one part, serialized (function calls: rare, so the names are cloned).
    fn part(&mut self, out: &mut BytesMut, part: PartOut<'_>) -> Result<(), ProtocolError> {
        let (model, id) = (self.config.model.clone(), self.response_id.clone());
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
            model_version: &model,
            response_id: &id,
        };
        self.frame(out, &chunk)
    }

    /// The last chunk: only `finishReason` and `usageMetadata`; then the array closes.
    fn finish(&mut self, reason: FinishReason, out: &mut BytesMut) -> Result<(), ProtocolError> {
        let (model, id) = (self.config.model.clone(), self.response_id.clone());
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
        self.frame(out, &chunk)?;
        self.array_end(out);
        self.finished = true;
        Ok(())
    }

    fn array_end(&mut self, out: &mut BytesMut) {
        if self.framing == Framing::JsonArray {
            if !self.opened {
                out.put_u8(b'[');
                self.opened = true;
            }
            out.put_u8(b']');
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
                self.tail.clear();
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
            ChatEvent::TextDelta { text, .. } if !text.is_empty() => {
                self.text(out, text, false);
                Ok(())
            }
            ChatEvent::ReasoningDelta { text, .. } if !text.is_empty() => {
                self.text(out, text, true);
                Ok(())
            }
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
            self.open(out);
            out.put_slice(
                br#"{"error":{"code":500,"message":"upstream error","status":"INTERNAL"}}"#,
            );
            self.close(out);
        }
        self.array_end(out);
    }
}
