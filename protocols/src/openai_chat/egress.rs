//! Canonical [`ChatEvent`]s → Chat Completions SSE chunks.

use bytes::BytesMut;
use codex_pipe_engine::SseEncoder;

use crate::canonical::{ApiError, Block, ChatEvent, FinishReason, JsonText, ProtocolError, Usage};
use crate::translate::{Egress, Protocol};

use super::error::ErrorEnvelope;
use super::wire::{
    CachedOut, ChoiceOut, ChunkOut, DeltaOut, FunctionDeltaOut, ReasoningTokensOut,
    ToolCallDeltaOut, UsageOut,
};

/// The Chat spelling of a finish reason: `stop`, `length`, `tool_calls`, `content_filter`.
pub fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

/// Identity of the chunks of one answer, chosen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatStreamConfig {
    /// Completion id, e.g. `chatcmpl-…`, repeated in every chunk.
    pub id: String,
    /// Unix time in seconds, repeated in every chunk (async-openai reads it as `u32`).
    pub created: u64,
    /// Model name to report, usually the one the client asked for.
    pub model: String,
    /// Client sent `stream_options.include_usage:true`: every chunk carries `"usage":null`
    /// and a last `choices:[]` chunk carries the usage.
    pub include_usage: bool,
}

/// The Chat Completions streaming state machine (protocols.md §4a, §5.2; clients.md §3.1, §7).
///
/// Writes `data: {chunk}\n\n` frames through [`SseEncoder`]:
/// 1. a first chunk `delta:{"role":"assistant","content":""}` when the answer starts;
/// 2. `delta.content` for text, `delta.reasoning_content` for reasoning;
/// 3. tool calls with a dense `index` (0, 1… in start order): the first fragment carries
///    `id`, `type:"function"`, `function.name` and `arguments:""`, later ones only
///    `index` and `function.arguments`;
/// 4. `delta:{}` with `finish_reason` `stop | length | tool_calls | content_filter`;
/// 5. with `include_usage`, a `choices:[]` chunk with `usage`;
/// 6. `data: [DONE]`.
///
/// An upstream error ([`Egress::write_error`]) is written as one
/// `data: {"error":{message,type,param,code}}` frame and ends the stream (no `[DONE]`): the
/// OpenAI SDKs raise it as `APIError`. Events after the end are ignored.
#[derive(Debug)]
pub struct ChatStreamEgress {
    config: ChatStreamConfig,
    started: bool,
    finished: bool,
    /// `(block index, tool index)` of tool-call blocks.
    tools: Vec<(u32, u32)>,
    usage: Option<Usage>,
    empty: JsonText,
}

impl ChatStreamEgress {
    /// A state machine for one answer.
    pub fn new(config: ChatStreamConfig) -> Self {
        Self {
            config,
            started: false,
            finished: false,
            tools: Vec::new(),
            usage: None,
            empty: JsonText::empty(),
        }
    }

    /// True once `[DONE]` or an error frame was written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Writes the frames for `event` into `buf` (possibly none).
    ///
    /// # Errors
    /// [`ProtocolError::Serialize`], which the types written here never produce; `buf` then
    /// holds no partial frame.
    pub fn write(&mut self, event: &ChatEvent, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.finished {
            return Ok(());
        }
        if let ChatEvent::Error(failure) = event {
            self.write_error(&ApiError::from(failure), buf);
            return Ok(());
        }
        if !self.started {
            self.started = true;
            self.chunk(
                buf,
                DeltaOut {
                    role: Some("assistant"),
                    content: Some(&self.empty),
                    ..DeltaOut::default()
                },
                None,
            )?;
        }
        match event {
            ChatEvent::Start(_) | ChatEvent::BlockStop { .. } => Ok(()),
            ChatEvent::BlockStart {
                index,
                block: Block::ToolCall { call_id, name },
            } => {
                let tool_index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                self.tools.push((*index, tool_index));
                self.tool_chunk(buf, tool_index, Some((call_id, name)), &self.empty)
            }
            ChatEvent::BlockStart { .. } => Ok(()),
            ChatEvent::TextDelta { text, .. } => self.chunk(
                buf,
                DeltaOut {
                    content: Some(text),
                    ..DeltaOut::default()
                },
                None,
            ),
            ChatEvent::ReasoningDelta { text, .. } => self.chunk(
                buf,
                DeltaOut {
                    reasoning_content: Some(text),
                    ..DeltaOut::default()
                },
                None,
            ),
            ChatEvent::ToolArgumentsDelta { index, arguments } => {
                match self.tools.iter().find(|(b, _)| b == index) {
                    Some(&(_, tool_index)) => self.tool_chunk(buf, tool_index, None, arguments),
                    None => Ok(()),
                }
            }
            ChatEvent::Usage(usage) => {
                self.usage = Some(*usage);
                Ok(())
            }
            ChatEvent::Finish(reason) => {
                self.chunk(buf, DeltaOut::default(), Some(finish_reason(*reason)))?;
                if self.config.include_usage {
                    let usage = usage_out(&self.usage.unwrap_or_default());
                    let chunk = ChunkOut {
                        id: &self.config.id,
                        object: "chat.completion.chunk",
                        created: self.config.created,
                        model: &self.config.model,
                        choices: &[],
                        usage: Some(Some(usage)),
                    };
                    SseEncoder::json(buf, None, &chunk).map_err(ProtocolError::Serialize)?;
                }
                SseEncoder::data(buf, None, b"[DONE]");
                self.finished = true;
                Ok(())
            }
            ChatEvent::Error(_) => Ok(()),
        }
    }

    fn chunk(
        &self,
        buf: &mut BytesMut,
        delta: DeltaOut<'_>,
        finish_reason: Option<&'static str>,
    ) -> Result<(), ProtocolError> {
        let choices = [ChoiceOut {
            index: 0,
            delta,
            finish_reason,
        }];
        let chunk = ChunkOut {
            id: &self.config.id,
            object: "chat.completion.chunk",
            created: self.config.created,
            model: &self.config.model,
            choices: &choices,
            usage: self.config.include_usage.then_some(None),
        };
        SseEncoder::json(buf, None, &chunk).map_err(ProtocolError::Serialize)
    }

    fn tool_chunk(
        &self,
        buf: &mut BytesMut,
        index: u32,
        first: Option<(&str, &str)>,
        arguments: &JsonText,
    ) -> Result<(), ProtocolError> {
        let delta = DeltaOut {
            tool_calls: Some([ToolCallDeltaOut {
                index,
                id: first.map(|(id, _)| id),
                kind: first.map(|_| "function"),
                function: FunctionDeltaOut {
                    name: first.map(|(_, name)| name),
                    arguments,
                },
            }]),
            ..DeltaOut::default()
        };
        self.chunk(buf, delta, None)
    }
}

pub(crate) fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.total_tokens,
        prompt_tokens_details: CachedOut {
            cached_tokens: u.cached_input_tokens,
        },
        completion_tokens_details: ReasoningTokensOut {
            reasoning_tokens: u.reasoning_output_tokens,
        },
    }
}

impl Egress for ChatStreamEgress {
    fn protocol(&self) -> Protocol {
        Protocol::OpenAi
    }

    fn is_streaming(&self) -> bool {
        true
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn keep_alive(&self) -> Option<&'static [u8]> {
        Some(SseEncoder::KEEP_ALIVE)
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        ChatStreamEgress::write(self, event, out)
    }

    fn write_error(&mut self, error: &ApiError, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        if SseEncoder::json(out, None, &ErrorEnvelope::of(error)).is_err() {
            SseEncoder::data(out, None, br#"{"error":{"message":"upstream error","type":"server_error","param":null,"code":null}}"#);
        }
    }
}
