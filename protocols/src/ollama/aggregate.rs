//! Canonical [`ChatEvent`]s → one non-streaming Ollama body (`"stream": false`).

use bytes::BytesMut;
use codex_pipe_engine::NdjsonEncoder;

use crate::canonical::{ApiError, Block, ChatEvent, JsonText, JsonTextBuf, ProtocolError, Usage};
use crate::gemini::args_object;
use crate::translate::{Egress, Protocol};

use super::egress::{Clock, Endpoint, OllamaConfig};
use super::wire::{ChatLineOut, FunctionOut, GenerateLineOut, MessageOut, ToolCallOut};

/// Folds the events of one answer into the object a non-streaming Ollama request gets: the
/// last line of the stream, with the whole `message.content` (`/api/generate`: `response`),
/// `thinking` when the client set `think`, and every tool call (`/api/chat`), followed by one
/// `\n`.
#[derive(Debug)]
pub struct OllamaAggregator {
    config: OllamaConfig,
    clock: Clock,
    content: JsonTextBuf,
    thinking: JsonTextBuf,
    calls: Vec<(u32, Box<str>, JsonTextBuf)>,
    usage: Option<Usage>,
    done: bool,
}

impl OllamaAggregator {
    /// An aggregator for one answer.
    pub fn new(config: OllamaConfig) -> Self {
        Self {
            clock: Clock::new(config.started),
            config,
            content: JsonTextBuf::new(),
            thinking: JsonTextBuf::new(),
            calls: Vec::new(),
            usage: None,
            done: false,
        }
    }
}

/// The fold: nothing is written until `Finish`, then the whole body.
impl Egress for OllamaAggregator {
    fn protocol(&self) -> Protocol {
        Protocol::Ollama
    }

    fn is_streaming(&self) -> bool {
        false
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.done {
            return Ok(());
        }
        match event {
            ChatEvent::TextDelta { text, .. } => {
                self.clock.output();
                self.content.push(text);
            }
            ChatEvent::ReasoningDelta { text, .. } => {
                self.clock.output();
                self.thinking.push(text);
            }
            ChatEvent::BlockStart {
                index,
                block: Block::ToolCall { name, .. },
            } => self.calls.push((*index, name.clone(), JsonTextBuf::new())),
            ChatEvent::ToolArgumentsDelta { index, arguments } => {
                if let Some(call) = self.calls.iter_mut().find(|c| c.0 == *index) {
                    call.2.push(arguments);
                }
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::Finish(reason) => {
                self.done = true;
                let end = self.clock.done(*reason, &self.usage.unwrap_or_default());
                let content = std::mem::take(&mut self.content).finish();
                let thinking: Option<JsonText> = (self.config.think && !self.thinking.is_empty())
                    .then(|| std::mem::take(&mut self.thinking).finish());
                let arguments: Vec<_> = std::mem::take(&mut self.calls)
                    .into_iter()
                    .map(|(_, name, args)| (name, args_object(args)))
                    .collect();
                let calls: Vec<ToolCallOut<'_>> = arguments
                    .iter()
                    .map(|(name, args)| ToolCallOut {
                        function: FunctionOut {
                            name,
                            arguments: args,
                        },
                    })
                    .collect();
                let c = &self.config;
                let result = match c.endpoint {
                    Endpoint::Chat => NdjsonEncoder::json(
                        out,
                        &ChatLineOut {
                            model: &c.model,
                            created_at: &c.created_at,
                            message: MessageOut {
                                role: "assistant",
                                content: &content,
                                thinking: thinking.as_ref(),
                                tool_calls: &calls,
                            },
                            done: true,
                            end: Some(end),
                        },
                    ),
                    Endpoint::Generate => NdjsonEncoder::json(
                        out,
                        &GenerateLineOut {
                            model: &c.model,
                            created_at: &c.created_at,
                            response: &content,
                            thinking: thinking.as_ref(),
                            done: true,
                            end: Some(end),
                        },
                    ),
                };
                result.map_err(ProtocolError::Serialize)?;
            }
            ChatEvent::Start(_)
            | ChatEvent::BlockStart { .. }
            | ChatEvent::BlockStop { .. }
            | ChatEvent::Error(_) => {}
        }
        Ok(())
    }

    fn write_error(&mut self, _error: &ApiError, _out: &mut BytesMut) {
        // A fold never commits: its failures are HTTP errors.
    }
}
