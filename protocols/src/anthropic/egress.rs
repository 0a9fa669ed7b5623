//! Canonical [`ChatEvent`]s → Anthropic Messages SSE events (protocols.md §4b, §5.3;
//! clients.md §3.2, §7 item 4).

use std::collections::VecDeque;

use bytes::{BufMut, BytesMut};
use codex_pipe_engine::SseEncoder;
use serde::Serialize;

use crate::canonical::{ApiError, Block, ChatEvent, FinishReason, JsonText, ProtocolError, Usage};
use crate::translate::{Egress, Protocol};

use super::error::ErrorEnvelope;
use super::signature::SignatureKey;
use super::wire::{
    BlockStartOut, BlockStopOut, ContentOut, DeltaOut, MessageDeltaOut, MessageOut,
    MessageStartOut, StopOut, UsageOut,
};

/// The `ping` event, written during upstream silences (the keep-alive frame): Claude Code
/// aborts a stream after about 300 s without bytes (gateways.md §1).
pub const PING: &[u8] = b"event: ping\ndata: {\"type\":\"ping\"}\n\n";

/// The Anthropic `stop_reason` of a finish reason: `end_turn`, `max_tokens`, `tool_use`,
/// `refusal`.
pub fn stop_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

/// Anthropic usage from canonical usage: `input_tokens` without the cached tokens, which are
/// `cache_read_input_tokens` (gateways.md §3: counting them twice is the classic bug).
pub(crate) fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        input_tokens: u.input_tokens.saturating_sub(u.cached_input_tokens),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: u.cached_input_tokens,
        output_tokens: u.output_tokens,
    }
}

/// One `content_block_delta`, written directly (the hot path: one per upstream delta).
/// The bytes are what serializing [`BlockDeltaOut`] would give; the text is a
/// [`JsonText`], already a JSON string literal.
pub(crate) fn write_delta(buf: &mut BytesMut, index: u32, delta: DeltaOut<'_>) {
    let (kind, field, text) = match delta {
        DeltaOut::TextDelta { text } => ("text_delta", "text", text),
        DeltaOut::ThinkingDelta { thinking } => ("thinking_delta", "thinking", thinking),
        DeltaOut::SignatureDelta { signature } => ("signature_delta", "signature", signature),
        DeltaOut::InputJsonDelta { partial_json } => {
            ("input_json_delta", "partial_json", partial_json)
        }
    };
    let mut digits = [0_u8; 10];
    let mut n = index;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.reserve(96 + text.as_json().len());
    buf.put_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
    );
    buf.put_slice(&digits[at..]);
    buf.put_slice(b",\"delta\":{\"type\":\"");
    buf.put_slice(kind.as_bytes());
    buf.put_slice(b"\",\"");
    buf.put_slice(field.as_bytes());
    buf.put_slice(b"\":");
    buf.put_slice(text.as_json().as_bytes());
    buf.put_slice(b"}}\n\n");
}

/// Identity of one answer, chosen by the server, and the key that signs its thinking blocks.
#[derive(Debug, Clone)]
pub struct MessagesConfig {
    /// Message id, e.g. `msg_…`.
    pub id: String,
    /// Model name to report, usually the one the client asked for.
    pub model: String,
    /// Signs the reasoning `encrypted_content` into thinking `signature`s
    /// ([`super::signature`]).
    pub signatures: SignatureKey,
}

/// The Messages streaming state machine.
///
/// Writes, each with its `event:` line (the SDKs drop events without one):
/// 1. `message_start` (empty content, `usage` zero until the end);
/// 2. per block, `content_block_start` / `content_block_delta`* / `content_block_stop`, with a
///    dense `index` from 0 in the order blocks are written: `text` (`text_delta`), `thinking`
///    (`thinking_delta`, then one `signature_delta` carrying the signed `encrypted_content`,
///    also when the block has no text) and `tool_use` (`input:{}` at start, then
///    `input_json_delta`s whose concatenation is the arguments, sent once); a web search the
///    backend ran is a `server_tool_use` block (`name:"web_search"`, its query as one
///    `input_json_delta`) followed by a `web_search_tool_result` block with empty `content`;
/// 3. `message_delta` with `stop_reason` (`end_turn`, `tool_use`, `max_tokens`, `refusal`) and
///    `usage` (`input_tokens` excluding cached, `cache_read_input_tokens`, `output_tokens`);
/// 4. `message_stop`.
///
/// Anthropic blocks never interleave: when the upstream interleaves parallel tool calls, a
/// block that starts while another is open is queued with its events and written, whole, once
/// the open one stops. An upstream error after the start is one `event: error` with
/// `{"type":"error","error":{type,message}}` and ends the stream.
#[derive(Debug)]
pub struct MessagesStreamEgress {
    config: MessagesConfig,
    started: bool,
    finished: bool,
    /// `(canonical index, out index)` of the block being written.
    open: Option<(u32, u32)>,
    /// The `server_tool_use` id when the open block is a web search.
    search: Option<Box<str>>,
    queued: VecDeque<(u32, Vec<ChatEvent>)>,
    next_out: u32,
    usage: Option<Usage>,
}

impl MessagesStreamEgress {
    /// A state machine for one answer.
    pub fn new(config: MessagesConfig) -> Self {
        Self {
            config,
            started: false,
            finished: false,
            open: None,
            search: None,
            queued: VecDeque::new(),
            next_out: 0,
            usage: None,
        }
    }

    /// True once `message_stop` or an error event was written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn event<T: Serialize>(
        buf: &mut BytesMut,
        name: &'static str,
        value: &T,
    ) -> Result<(), ProtocolError> {
        SseEncoder::json(buf, Some(name), value).map_err(ProtocolError::Serialize)
    }

    fn message_start(&mut self, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let start = MessageStartOut {
            kind: "message_start",
            message: MessageOut {
                id: &self.config.id,
                kind: "message",
                role: "assistant",
                model: &self.config.model,
                content: &[],
                stop_reason: None,
                stop_sequence: None,
                usage: UsageOut::default(),
            },
        };
        Self::event(buf, "message_start", &start)
    }

    fn delta(buf: &mut BytesMut, index: u32, delta: DeltaOut<'_>) -> Result<(), ProtocolError> {
        write_delta(buf, index, delta);
        Ok(())
    }

    /// A web search: `server_tool_use` with its `{"query":…}` as one `input_json_delta`.
    fn search_start(
        &mut self,
        buf: &mut BytesMut,
        out: u32,
        id: &str,
        query: &str,
    ) -> Result<(), ProtocolError> {
        let id = format!("srvtoolu_{id}");
        let empty_input = serde_json::value::RawValue::from_string("{}".to_owned())
            .map_err(ProtocolError::Serialize)?;
        let ev = BlockStartOut {
            kind: "content_block_start",
            index: out,
            content_block: ContentOut::ServerToolUse {
                id: &id,
                name: "web_search",
                input: &empty_input,
            },
        };
        Self::event(buf, "content_block_start", &ev)?;
        let input = serde_json::json!({ "query": query }).to_string();
        let partial_json = JsonText::new(&input);
        write_delta(
            buf,
            out,
            DeltaOut::InputJsonDelta {
                partial_json: &partial_json,
            },
        );
        self.search = Some(id.into());
        Ok(())
    }

    /// The `web_search_tool_result` block after a `server_tool_use`.
    fn search_result(&mut self, buf: &mut BytesMut, id: &str) -> Result<(), ProtocolError> {
        let index = self.next_out;
        self.next_out += 1;
        let ev = BlockStartOut {
            kind: "content_block_start",
            index,
            content_block: ContentOut::WebSearchToolResult {
                tool_use_id: id,
                content: &[],
            },
        };
        Self::event(buf, "content_block_start", &ev)?;
        let stop = BlockStopOut {
            kind: "content_block_stop",
            index,
        };
        Self::event(buf, "content_block_stop", &stop)
    }

    /// The canonical block `index` is queued behind the open block: keep `event` for later.
    fn queue(&mut self, index: u32, event: &ChatEvent) -> bool {
        match self.queued.iter_mut().find(|(i, _)| *i == index) {
            Some((_, events)) => {
                events.push(event.clone());
                true
            }
            None => false,
        }
    }

    fn handle(&mut self, event: &ChatEvent, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        match event {
            ChatEvent::Start(_) => self.message_start(buf),
            ChatEvent::BlockStart { index, block } => {
                if self.open.is_some() {
                    self.queued.push_back((*index, vec![event.clone()]));
                    return Ok(());
                }
                self.message_start(buf)?;
                let out = self.next_out;
                self.next_out += 1;
                self.open = Some((*index, out));
                let empty = JsonText::empty();
                let empty_input;
                let content_block = match block {
                    Block::Text => ContentOut::Text { text: &empty },
                    Block::Reasoning => ContentOut::Thinking {
                        thinking: &empty,
                        signature: &empty,
                    },
                    Block::ToolCall { call_id, name } => {
                        empty_input = serde_json::value::RawValue::from_string("{}".to_owned())
                            .map_err(ProtocolError::Serialize)?;
                        ContentOut::ToolUse {
                            id: call_id,
                            name,
                            input: &empty_input,
                        }
                    }
                    Block::WebSearch { id, query } => {
                        return self.search_start(buf, out, id, query);
                    }
                };
                let ev = BlockStartOut {
                    kind: "content_block_start",
                    index: out,
                    content_block,
                };
                Self::event(buf, "content_block_start", &ev)
            }
            ChatEvent::TextDelta { index, text } => match self.open {
                Some((open, out)) if open == *index => {
                    Self::delta(buf, out, DeltaOut::TextDelta { text })
                }
                _ => {
                    self.queue(*index, event);
                    Ok(())
                }
            },
            ChatEvent::ReasoningDelta { index, text } => match self.open {
                Some((open, out)) if open == *index => {
                    Self::delta(buf, out, DeltaOut::ThinkingDelta { thinking: text })
                }
                _ => {
                    self.queue(*index, event);
                    Ok(())
                }
            },
            ChatEvent::ToolArgumentsDelta { index, arguments } => match self.open {
                Some((open, out)) if open == *index => Self::delta(
                    buf,
                    out,
                    DeltaOut::InputJsonDelta {
                        partial_json: arguments,
                    },
                ),
                _ => {
                    self.queue(*index, event);
                    Ok(())
                }
            },
            ChatEvent::BlockStop {
                index,
                encrypted_content,
            } => match self.open {
                Some((open, out)) if open == *index => {
                    if let Some(encrypted) = encrypted_content {
                        let signature =
                            JsonText::new(&self.config.signatures.sign(&encrypted.decode()));
                        Self::delta(
                            buf,
                            out,
                            DeltaOut::SignatureDelta {
                                signature: &signature,
                            },
                        )?;
                    }
                    let ev = BlockStopOut {
                        kind: "content_block_stop",
                        index: out,
                    };
                    Self::event(buf, "content_block_stop", &ev)?;
                    self.open = None;
                    if let Some(id) = self.search.take() {
                        self.search_result(buf, &id)?;
                    }
                    while self.open.is_none() {
                        let Some((_, events)) = self.queued.pop_front() else {
                            break;
                        };
                        for queued in &events {
                            self.handle(queued, buf)?;
                        }
                    }
                    Ok(())
                }
                _ => {
                    self.queue(*index, event);
                    Ok(())
                }
            },
            ChatEvent::Usage(usage) => {
                self.usage = Some(*usage);
                Ok(())
            }
            ChatEvent::Finish(reason) => {
                self.message_start(buf)?;
                let ev = MessageDeltaOut {
                    kind: "message_delta",
                    delta: StopOut {
                        stop_reason: stop_reason(*reason),
                        stop_sequence: None,
                    },
                    usage: usage_out(&self.usage.unwrap_or_default()),
                };
                Self::event(buf, "message_delta", &ev)?;
                SseEncoder::data(buf, Some("message_stop"), br#"{"type":"message_stop"}"#);
                self.finished = true;
                Ok(())
            }
            ChatEvent::Error(failure) => {
                self.write_error(&ApiError::from(failure), buf);
                Ok(())
            }
        }
    }
}

impl Egress for MessagesStreamEgress {
    fn protocol(&self) -> Protocol {
        Protocol::Anthropic
    }

    fn is_streaming(&self) -> bool {
        true
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn keep_alive(&self) -> Option<&'static [u8]> {
        Some(PING)
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.finished {
            return Ok(());
        }
        self.handle(event, out)
    }

    fn write_error(&mut self, error: &ApiError, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        if SseEncoder::json(out, Some("error"), &ErrorEnvelope::of(error)).is_err() {
            SseEncoder::data(
                out,
                Some("error"),
                br#"{"type":"error","error":{"type":"api_error","message":"upstream error"}}"#,
            );
        }
    }
}
