//! Canonical [`ChatEvent`]s → one non-streaming `GenerateContentResponse` (protocols.md §5.6).

use bytes::{BufMut, BytesMut};
use serde_json::value::RawValue;

use crate::canonical::{
    ApiError, Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError, Usage,
};
use crate::translate::{Egress, Protocol};

use super::egress::{args_object, finish_reason, usage_out, GeminiConfig};
use super::signature;
use super::wire::{CandidateOut, ContentOut, FunctionCallOut, PartOut, ResponseOut};

/// What one block became, in start order.
#[derive(Debug)]
enum Piece {
    Thought(u32, JsonTextBuf),
    Text(u32, JsonTextBuf),
    Call {
        index: u32,
        id: Box<str>,
        name: Box<str>,
        arguments: JsonTextBuf,
    },
}

/// Folds the events of one answer into one `GenerateContentResponse`: the non-streaming
/// `generateContent` answer is the same upstream stream, aggregated.
///
/// Parts follow the blocks' order: each reasoning block → one `{"text","thought":true}` part,
/// each text block → one `{"text"}` part (empty ones left out), each tool call →
/// `{"functionCall":{"id","name","args"}}`. The reasoning's encrypted content is the
/// `thoughtSignature` of the first function call (as in the stream). The candidate carries
/// `finishReason`; `usageMetadata` is always present.
#[derive(Debug)]
pub struct GeminiAggregator {
    config: GeminiConfig,
    response_id: Box<str>,
    pieces: Vec<Piece>,
    signature: Option<JsonText>,
    usage: Option<Usage>,
    done: bool,
}

impl GeminiAggregator {
    /// An aggregator for one answer.
    pub fn new(config: GeminiConfig) -> Self {
        Self {
            config,
            response_id: Box::from(""),
            pieces: Vec::new(),
            signature: None,
            usage: None,
            done: false,
        }
    }

    fn push(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::Start(start) => self.response_id = start.id.clone(),
            ChatEvent::BlockStart { index, block } => match block {
                Block::Text => self.pieces.push(Piece::Text(*index, JsonTextBuf::new())),
                Block::Reasoning => self.pieces.push(Piece::Thought(*index, JsonTextBuf::new())),
                Block::ToolCall { call_id, name } => self.pieces.push(Piece::Call {
                    index: *index,
                    id: call_id.clone(),
                    name: name.clone(),
                    arguments: JsonTextBuf::new(),
                }),
                // The backend's own web search: its results went to the model, not the client;
                // Gemini has no part for it.
                Block::WebSearch { .. } => {}
            },
            ChatEvent::TextDelta { index, text }
            | ChatEvent::ReasoningDelta { index, text }
            | ChatEvent::ToolArgumentsDelta {
                index,
                arguments: text,
            } => {
                if let Some(buf) = self.buffer(*index) {
                    buf.push(text);
                }
            }
            ChatEvent::BlockStop {
                encrypted_content: Some(sig),
                ..
            } if self.signature.is_none() && !sig.is_empty() => {
                self.signature = Some(signature::encode(sig));
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::BlockStop { .. } | ChatEvent::Finish(_) | ChatEvent::Error(_) => {}
        }
    }

    /// The text buffer of block `index`.
    fn buffer(&mut self, index: u32) -> Option<&mut JsonTextBuf> {
        self.pieces.iter_mut().rev().find_map(|p| match p {
            Piece::Thought(i, buf) | Piece::Text(i, buf) if *i == index => Some(buf),
            Piece::Call {
                index: i,
                arguments,
                ..
            } if *i == index => Some(arguments),
            _ => None,
        })
    }

    /// The `GenerateContentResponse` body.
    fn body(&mut self, reason: FinishReason) -> Result<Vec<u8>, ProtocolError> {
        struct Finished {
            text: Option<JsonText>,
            thought: bool,
            call: Option<(Box<str>, Box<str>, Box<RawValue>)>,
        }
        let finished: Vec<Finished> = std::mem::take(&mut self.pieces)
            .into_iter()
            .filter_map(|piece| match piece {
                Piece::Thought(_, buf) | Piece::Text(_, buf) if buf.is_empty() => None,
                Piece::Thought(_, buf) => Some(Finished {
                    text: Some(buf.finish()),
                    thought: true,
                    call: None,
                }),
                Piece::Text(_, buf) => Some(Finished {
                    text: Some(buf.finish()),
                    thought: false,
                    call: None,
                }),
                Piece::Call {
                    id,
                    name,
                    arguments,
                    index: _,
                } => Some(Finished {
                    text: None,
                    thought: false,
                    call: Some((id, name, args_object(arguments))),
                }),
            })
            .collect();
        let signature = self.signature.take();
        let mut parts: Vec<PartOut<'_>> = finished
            .iter()
            .map(|f| PartOut {
                text: f.text.as_ref(),
                thought: f.thought.then_some(true),
                function_call: f.call.as_ref().map(|(id, name, args)| FunctionCallOut {
                    id,
                    name,
                    args,
                }),
                thought_signature: None,
            })
            .collect();
        if let Some(first_call) = parts.iter_mut().find(|p| p.function_call.is_some()) {
            first_call.thought_signature = signature.as_ref();
        }
        let body = ResponseOut {
            candidates: [CandidateOut {
                content: Some(ContentOut {
                    role: "model",
                    parts: &parts,
                }),
                finish_reason: Some(finish_reason(reason)),
                index: 0,
            }],
            usage_metadata: Some(usage_out(&self.usage.unwrap_or_default())),
            model_version: &self.config.model,
            response_id: &self.response_id,
        };
        serde_json::to_vec(&body).map_err(ProtocolError::Serialize)
    }
}

/// The fold: nothing is written until `Finish`, then the whole body.
impl Egress for GeminiAggregator {
    fn protocol(&self) -> Protocol {
        Protocol::Gemini
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
        self.push(event);
        if let ChatEvent::Finish(reason) = event {
            self.done = true;
            out.put_slice(&self.body(*reason)?);
        }
        Ok(())
    }

    fn write_error(&mut self, _error: &ApiError, _out: &mut BytesMut) {
        // A fold never commits: its failures are HTTP errors.
    }
}
