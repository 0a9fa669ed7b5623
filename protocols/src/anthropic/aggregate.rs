//! Canonical [`ChatEvent`]s → one non-streaming Messages body (protocols.md §4b "Non-stream",
//! §5.6).

use bytes::{BufMut, BytesMut};
use serde_json::value::RawValue;

use crate::canonical::{
    ApiError, Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError,
    UpstreamFailure, Usage,
};
use crate::translate::{Egress, Protocol};

use super::egress::{stop_reason, usage_out, MessagesConfig};
use super::wire::{ContentOut, MessageOut};

#[derive(Debug)]
enum Folded {
    Text(JsonTextBuf),
    Thinking(JsonTextBuf, Option<JsonText>),
    ToolUse(Box<str>, Box<str>, JsonTextBuf),
    /// `(server_tool_use id, query)`.
    WebSearch(Box<str>, Box<str>),
}

/// Folds the events of one answer into the `message` object: the non-streaming Messages
/// response is the same upstream stream, aggregated.
///
/// `content` holds the blocks in start order, as the stream would have written them: `text`,
/// `thinking` (with its `signature`), `tool_use` (`input` the parsed arguments; `{}` when
/// the model sent none or they are not a JSON object), and for a web search the backend ran,
/// `server_tool_use` then `web_search_tool_result` (empty `content`). Nothing is written until `Finish`.
#[derive(Debug)]
pub struct MessagesAggregator {
    config: MessagesConfig,
    blocks: Vec<(u32, Folded)>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    error: Option<UpstreamFailure>,
}

impl MessagesAggregator {
    /// An aggregator for one answer.
    pub fn new(config: MessagesConfig) -> Self {
        Self {
            config,
            blocks: Vec::new(),
            usage: None,
            finish: None,
            error: None,
        }
    }

    fn block(&mut self, index: u32) -> Option<&mut Folded> {
        self.blocks
            .iter_mut()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    /// Folds one event.
    pub fn push(&mut self, event: &ChatEvent) {
        if self.finish.is_some() || self.error.is_some() {
            return;
        }
        match event {
            ChatEvent::BlockStart { index, block } => {
                let folded = match block {
                    Block::Text => Folded::Text(JsonTextBuf::new()),
                    Block::Reasoning => Folded::Thinking(JsonTextBuf::new(), None),
                    Block::ToolCall { call_id, name } => {
                        Folded::ToolUse(call_id.clone(), name.clone(), JsonTextBuf::new())
                    }
                    Block::WebSearch { id, query } => {
                        Folded::WebSearch(format!("srvtoolu_{id}").into(), query.clone())
                    }
                };
                self.blocks.push((*index, folded));
            }
            ChatEvent::TextDelta { index, text }
            | ChatEvent::ReasoningDelta { index, text }
            | ChatEvent::ToolArgumentsDelta {
                index,
                arguments: text,
            } => match self.block(*index) {
                Some(Folded::Text(buf) | Folded::Thinking(buf, _) | Folded::ToolUse(_, _, buf)) => {
                    buf.push(text);
                }
                Some(Folded::WebSearch(..)) | None => {}
            },
            ChatEvent::BlockStop {
                index,
                encrypted_content: Some(encrypted),
            } => {
                let signature = JsonText::new(&self.config.signatures.sign(&encrypted.decode()));
                if let Some(Folded::Thinking(_, sig)) = self.block(*index) {
                    *sig = Some(signature);
                }
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::Finish(reason) => self.finish = Some(*reason),
            ChatEvent::Error(failure) => self.error = Some(failure.clone()),
            ChatEvent::Start(_) | ChatEvent::BlockStop { .. } => {}
        }
    }

    /// The `message` JSON body.
    ///
    /// # Errors
    /// [`ProtocolError::Upstream`] with the upstream failure, or with
    /// [`crate::canonical::FailureKind::PrematureClose`] when no `Finish` came: the server
    /// answers with an HTTP error instead ([`super::error_response`]).
    pub fn finish(self) -> Result<Vec<u8>, ProtocolError> {
        if let Some(failure) = self.error {
            return Err(ProtocolError::Upstream(failure));
        }
        let Some(reason) = self.finish else {
            return Err(ProtocolError::Upstream(UpstreamFailure::premature_close()));
        };
        let empty = JsonText::empty();
        let folded: Vec<Folded> = self.blocks.into_iter().map(|(_, b)| b).collect();
        let mut finished: Vec<(Option<JsonText>, Option<Box<RawValue>>)> =
            Vec::with_capacity(folded.len());
        for b in &folded {
            finished.push(match b {
                Folded::Text(buf) | Folded::Thinking(buf, _) => (Some(buf.clone().finish()), None),
                Folded::ToolUse(_, _, args) => (None, Some(input_of(&args.clone().finish())?)),
                Folded::WebSearch(_, query) => {
                    let input = serde_json::json!({ "query": query }).to_string();
                    let raw = RawValue::from_string(input).map_err(ProtocolError::Serialize)?;
                    (None, Some(raw))
                }
            });
        }
        let mut content: Vec<ContentOut<'_>> = Vec::with_capacity(folded.len());
        for (b, (text, input)) in folded.iter().zip(&finished) {
            if let (Folded::WebSearch(id, _), Some(input)) = (b, input) {
                content.push(ContentOut::ServerToolUse {
                    id,
                    name: "web_search",
                    input,
                });
                content.push(ContentOut::WebSearchToolResult {
                    tool_use_id: id,
                    content: &[],
                });
                continue;
            }
            content.push(match (b, text, input) {
                (Folded::Text(_), Some(text), _) => ContentOut::Text { text },
                (Folded::Thinking(_, sig), Some(thinking), _) => ContentOut::Thinking {
                    thinking,
                    signature: sig.as_ref().unwrap_or(&empty),
                },
                (Folded::ToolUse(id, name, _), _, Some(input)) => {
                    ContentOut::ToolUse { id, name, input }
                }
                _ => ContentOut::Text { text: &empty },
            });
        }
        let body = MessageOut {
            id: &self.config.id,
            kind: "message",
            role: "assistant",
            model: &self.config.model,
            content: &content,
            stop_reason: Some(stop_reason(reason)),
            stop_sequence: None,
            usage: usage_out(&self.usage.unwrap_or_default()),
        };
        serde_json::to_vec(&body).map_err(ProtocolError::Serialize)
    }
}

/// The tool input object of arguments text: the parsed object, or `{}`.
fn input_of(arguments: &JsonText) -> Result<Box<RawValue>, ProtocolError> {
    let text = arguments.decode();
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        if let Ok(raw) = serde_json::from_str::<&RawValue>(trimmed) {
            return Ok(raw.to_owned());
        }
    }
    if !trimmed.is_empty() {
        tracing::warn!("tool arguments are not a JSON object; sending input {{}}");
    }
    RawValue::from_string("{}".to_owned()).map_err(ProtocolError::Serialize)
}

/// The fold: nothing is written until `Finish`, then the `message` body.
impl Egress for MessagesAggregator {
    fn protocol(&self) -> Protocol {
        Protocol::Anthropic
    }

    fn is_streaming(&self) -> bool {
        false
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        self.push(event);
        if matches!(event, ChatEvent::Finish(_)) {
            let done = std::mem::replace(self, Self::new(self.config.clone()));
            out.put_slice(&done.finish()?);
        }
        Ok(())
    }

    fn write_error(&mut self, _error: &ApiError, _out: &mut BytesMut) {
        // A fold never commits: its failures are HTTP errors.
    }
}
