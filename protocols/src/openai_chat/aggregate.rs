//! Canonical [`ChatEvent`]s → one non-streaming `chat.completion` body (protocols.md §5.6).

use bytes::{BufMut, BytesMut};

use crate::canonical::{
    ApiError, Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError,
    UpstreamFailure, Usage,
};
use crate::translate::{Egress, Protocol};

use super::egress::{finish_reason, usage_out, ChatStreamConfig};
use super::wire::{CompletionChoiceOut, CompletionOut, FunctionOut, MessageOut, ToolCallOut};

/// Folds the events of one answer into a `chat.completion` object: the non-streaming
/// Chat Completions response is the same upstream stream, aggregated.
///
/// Text blocks are concatenated into `message.content`, reasoning into
/// `message.reasoning_content`, tool calls (in start order) into `message.tool_calls`.
/// `content` is `null` when the answer is only tool calls.
#[derive(Debug)]
pub struct ChatCompletionAggregator {
    config: ChatStreamConfig,
    content: JsonTextBuf,
    reasoning: JsonTextBuf,
    tools: Vec<(u32, Box<str>, Box<str>, JsonTextBuf)>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    error: Option<UpstreamFailure>,
}

impl ChatCompletionAggregator {
    /// An aggregator; `config.include_usage` is ignored (the body always has `usage`).
    pub fn new(config: ChatStreamConfig) -> Self {
        Self {
            config,
            content: JsonTextBuf::new(),
            reasoning: JsonTextBuf::new(),
            tools: Vec::new(),
            usage: None,
            finish: None,
            error: None,
        }
    }

    /// Folds one event.
    pub fn push(&mut self, event: &ChatEvent) {
        if self.finish.is_some() || self.error.is_some() {
            return;
        }
        match event {
            ChatEvent::BlockStart {
                index,
                block: Block::ToolCall { call_id, name },
            } => self
                .tools
                .push((*index, call_id.clone(), name.clone(), JsonTextBuf::new())),
            ChatEvent::TextDelta { text, .. } => self.content.push(text),
            ChatEvent::ReasoningDelta { text, .. } => self.reasoning.push(text),
            ChatEvent::ToolArgumentsDelta { index, arguments } => {
                if let Some(tool) = self.tools.iter_mut().find(|t| t.0 == *index) {
                    tool.3.push(arguments);
                }
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::Finish(reason) => self.finish = Some(*reason),
            ChatEvent::Error(failure) => self.error = Some(failure.clone()),
            ChatEvent::Start(_) | ChatEvent::BlockStart { .. } | ChatEvent::BlockStop { .. } => {}
        }
    }

    /// The `chat.completion` JSON body.
    ///
    /// # Errors
    /// [`ProtocolError::Upstream`] with the upstream failure, or with
    /// [`crate::canonical::FailureKind::PrematureClose`] when no `Finish` came: the server
    /// answers with an HTTP error instead (map it with
    /// [`super::error_response`]).
    pub fn finish(self) -> Result<Vec<u8>, ProtocolError> {
        if let Some(failure) = self.error {
            return Err(ProtocolError::Upstream(failure));
        }
        let Some(reason) = self.finish else {
            return Err(ProtocolError::Upstream(UpstreamFailure::premature_close()));
        };
        let tool_calls: Vec<ToolCallOut> = self
            .tools
            .into_iter()
            .map(|(_, id, name, args)| ToolCallOut {
                id,
                kind: "function",
                function: FunctionOut {
                    name,
                    arguments: args.finish(),
                },
            })
            .collect();
        let content: Option<JsonText> = if self.content.is_empty() && !tool_calls.is_empty() {
            None
        } else {
            Some(self.content.finish())
        };
        let reasoning = (!self.reasoning.is_empty()).then(|| self.reasoning.finish());
        let body = CompletionOut {
            id: &self.config.id,
            object: "chat.completion",
            created: self.config.created,
            model: &self.config.model,
            choices: [CompletionChoiceOut {
                index: 0,
                message: MessageOut {
                    role: "assistant",
                    content: content.as_ref(),
                    reasoning_content: reasoning.as_ref(),
                    tool_calls: &tool_calls,
                },
                finish_reason: finish_reason(reason),
            }],
            usage: Some(usage_out(&self.usage.unwrap_or_default())),
        };
        serde_json::to_vec(&body).map_err(ProtocolError::Serialize)
    }
}

/// The fold: nothing is written until `Finish`, then the `chat.completion` body.
impl Egress for ChatCompletionAggregator {
    fn protocol(&self) -> Protocol {
        Protocol::OpenAi
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
