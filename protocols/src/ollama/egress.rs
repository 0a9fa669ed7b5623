//! Canonical [`ChatEvent`]s → Ollama NDJSON lines (`/api/chat` and `/api/generate`).

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use codex_pipe_engine::NdjsonEncoder;

use crate::canonical::{
    ApiError, Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError, Usage,
};
use crate::gemini::args_object;
use crate::translate::{Egress, Protocol};

use super::wire::{
    ChatLineOut, DoneOut, ErrorOut, FunctionOut, GenerateLineOut, MessageOut, ToolCallOut,
};

/// Which Ollama endpoint the lines answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/chat`: `message{role,content,thinking?,tool_calls?}` per line.
    Chat,
    /// `/api/generate`: `response` (and `thinking`) per line; tool calls have no place here.
    Generate,
}

/// Identity and timing of the lines of one answer, chosen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaConfig {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// `model` of every line: the name the client sent.
    pub model: String,
    /// `created_at` of every line (RFC 3339, UTC).
    pub created_at: String,
    /// Write reasoning as `thinking` (the client set `think`); otherwise it is dropped.
    pub think: bool,
    /// When the request arrived, for the durations of the last line (nanoseconds); `None`
    /// writes 0 for every duration (golden files).
    pub started: Option<Instant>,
}

/// Ollama's `done_reason`: `length` for the output limit, `stop` otherwise (Ollama reports
/// `stop` after tool calls too).
pub fn done_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::ToolCalls | FinishReason::ContentFilter => "stop",
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Timing and counts of one answer, for its `done:true` fields.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    started: Option<Instant>,
    first_output: Option<Instant>,
}

impl Clock {
    pub(crate) fn new(started: Option<Instant>) -> Self {
        Self {
            started,
            first_output: None,
        }
    }

    /// Output began (the end of "prompt evaluation").
    pub(crate) fn output(&mut self) {
        if self.started.is_some() && self.first_output.is_none() {
            self.first_output = Some(Instant::now());
        }
    }

    /// The `done:true` fields: `total_duration` from the request to now,
    /// `prompt_eval_duration` to the first output, `eval_duration` from it to now.
    pub(crate) fn done(&self, reason: FinishReason, usage: &Usage) -> DoneOut {
        let mut out = DoneOut {
            done_reason: done_reason(reason),
            prompt_eval_count: usage.input_tokens,
            eval_count: usage.output_tokens,
            ..DoneOut::default()
        };
        if let Some(started) = self.started {
            let now = Instant::now();
            let first = self.first_output.unwrap_or(now);
            out.total_duration = nanos(now.duration_since(started));
            out.prompt_eval_duration = nanos(first.duration_since(started));
            out.eval_duration = nanos(now.duration_since(first));
        }
        out
    }
}

/// The Ollama streaming state machine (protocols.md §4d, §5.5; clients.md §3.4).
///
/// One JSON object per `\n`, never a blank line (the Python client parses every line):
/// - a text delta → `{"model","created_at","message":{"role":"assistant","content":δ},"done":false}`
///   (`/api/generate`: `"response":δ`);
/// - a reasoning delta, when the client set `think` → `content:""` and `thinking:δ`;
/// - a tool call, once its arguments are complete (`/api/chat` only) →
///   `message.tool_calls:[{"function":{"name","arguments":{…}}}]` with `arguments` an object;
/// - the end → `content:""`, `done:true`, `done_reason`, `total_duration`, `load_duration`,
///   `prompt_eval_count`, `prompt_eval_duration`, `eval_count`, `eval_duration` (nanoseconds).
///
/// An upstream failure after commit ([`Egress::write_error`]) is one last line
/// `{"error":"…"}` (the ollama clients raise `ResponseError`).
#[derive(Debug)]
pub struct OllamaStreamEgress {
    config: OllamaConfig,
    /// `{"model":…,"created_at":…,"message":{"role":"assistant","content":` (chat) or
    /// `{"model":…,"created_at":…,"response":` (generate): the start of every delta line.
    head: Vec<u8>,
    clock: Clock,
    calls: Vec<(u32, Box<str>, JsonTextBuf)>,
    usage: Option<Usage>,
    empty: JsonText,
    finished: bool,
}

impl OllamaStreamEgress {
    /// A state machine for one answer.
    pub fn new(config: OllamaConfig) -> Self {
        let mut head = br#"{"model":"#.to_vec();
        head.extend_from_slice(JsonText::new(&config.model).as_json().as_bytes());
        head.extend_from_slice(br#","created_at":"#);
        head.extend_from_slice(JsonText::new(&config.created_at).as_json().as_bytes());
        head.extend_from_slice(match config.endpoint {
            Endpoint::Chat => br#","message":{"role":"assistant","content":"#,
            Endpoint::Generate => br#","response":"#,
        });
        Self {
            clock: Clock::new(config.started),
            head,
            config,
            calls: Vec::new(),
            usage: None,
            empty: JsonText::empty(),
            finished: false,
        }
    }

    /// A text or thinking delta line from the pre-rendered head: the same bytes as the
    /// serialized line, without a serializer (the hot path).
    fn delta(&self, out: &mut BytesMut, text: &JsonText, thinking: bool) {
        out.put_slice(&self.head);
        if thinking {
            out.put_slice(br#""","thinking":"#);
        }
        out.put_slice(text.as_json().as_bytes());
        out.put_slice(match self.config.endpoint {
            Endpoint::Chat => b"},\"done\":false}\n",
            Endpoint::Generate => b",\"done\":false}\n",
        });
    }

    fn line(
        &self,
        out: &mut BytesMut,
        content: &JsonText,
        thinking: Option<&JsonText>,
        tool_calls: &[ToolCallOut<'_>],
        end: Option<DoneOut>,
    ) -> Result<(), ProtocolError> {
        let c = &self.config;
        let result = match c.endpoint {
            Endpoint::Chat => NdjsonEncoder::json(
                out,
                &ChatLineOut {
                    model: &c.model,
                    created_at: &c.created_at,
                    message: MessageOut {
                        role: "assistant",
                        content,
                        thinking,
                        tool_calls,
                    },
                    done: end.is_some(),
                    end,
                },
            ),
            Endpoint::Generate => NdjsonEncoder::json(
                out,
                &GenerateLineOut {
                    model: &c.model,
                    created_at: &c.created_at,
                    response: content,
                    thinking,
                    done: end.is_some(),
                    end,
                },
            ),
        };
        result.map_err(ProtocolError::Serialize)
    }
}

impl Egress for OllamaStreamEgress {
    fn protocol(&self) -> Protocol {
        Protocol::Ollama
    }

    fn is_streaming(&self) -> bool {
        true
    }

    fn content_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.finished {
            return Ok(());
        }
        match event {
            ChatEvent::TextDelta { text, .. } if !text.is_empty() => {
                self.clock.output();
                self.delta(out, text, false);
                Ok(())
            }
            ChatEvent::ReasoningDelta { text, .. } if self.config.think && !text.is_empty() => {
                self.clock.output();
                self.delta(out, text, true);
                Ok(())
            }
            ChatEvent::BlockStart {
                index,
                block: Block::ToolCall { name, .. },
            } if self.config.endpoint == Endpoint::Chat => {
                self.calls.push((*index, name.clone(), JsonTextBuf::new()));
                Ok(())
            }
            ChatEvent::ToolArgumentsDelta { index, arguments } => {
                if let Some(call) = self.calls.iter_mut().find(|c| c.0 == *index) {
                    call.2.push(arguments);
                }
                Ok(())
            }
            ChatEvent::BlockStop { index, .. } => {
                let Some(pos) = self.calls.iter().position(|c| c.0 == *index) else {
                    return Ok(());
                };
                let (_, name, arguments) = self.calls.remove(pos);
                let arguments = args_object(arguments);
                self.clock.output();
                let calls = [ToolCallOut {
                    function: FunctionOut {
                        name: &name,
                        arguments: &arguments,
                    },
                }];
                self.line(out, &self.empty, None, &calls, None)
            }
            ChatEvent::Usage(usage) => {
                self.usage = Some(*usage);
                Ok(())
            }
            ChatEvent::Finish(reason) => {
                let end = self.clock.done(*reason, &self.usage.unwrap_or_default());
                self.line(out, &self.empty, None, &[], Some(end))?;
                self.finished = true;
                Ok(())
            }
            ChatEvent::Start(_)
            | ChatEvent::BlockStart { .. }
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
        let line = ErrorOut {
            error: &error.message,
        };
        if NdjsonEncoder::json(out, &line).is_err() {
            out.extend_from_slice(b"{\"error\":\"upstream error\"}\n");
        }
    }
}
