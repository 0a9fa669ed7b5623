//! The canonical stream events every ingress produces and every egress consumes.

use super::error::UpstreamFailure;
use super::text::JsonText;

/// One event of a model answer, in the order the client must see it.
///
/// Grammar of a stream produced by [`crate::responses::ResponsesIngress`]:
///
/// ```text
/// Start (BlockStart (TextDelta | ReasoningDelta | ToolArgumentsDelta)* BlockStop)* [Usage] Finish
/// Start … Error
/// ```
///
/// Blocks carry a dense `index` (0, 1, 2… in start order). Deltas name their block by that
/// index: parallel tool calls may interleave, so a delta is not always for the latest block.
/// Every started block is stopped before `Finish`; after an `Error` no block is stopped.
/// `Usage`, when present, comes right before `Finish`. Nothing follows `Finish` or `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The upstream accepted the request.
    Start(ResponseStart),
    /// A content block opens.
    BlockStart {
        /// Dense block index within this response.
        index: u32,
        /// What the block holds.
        block: Block,
    },
    /// Answer text for the text block `index`.
    TextDelta {
        /// Block index.
        index: u32,
        /// The text piece.
        text: JsonText,
    },
    /// Reasoning (summary) text for the reasoning block `index`. Paragraphs of a summary are
    /// separated by a `"\n\n"` delta.
    ReasoningDelta {
        /// Block index.
        index: u32,
        /// The text piece.
        text: JsonText,
    },
    /// A fragment of the JSON arguments of the tool-call block `index`. The fragments of one
    /// call concatenate to its full arguments text, sent exactly once.
    ToolArgumentsDelta {
        /// Block index.
        index: u32,
        /// The fragment.
        arguments: JsonText,
    },
    /// Block `index` is complete.
    BlockStop {
        /// Block index.
        index: u32,
        /// For reasoning blocks: the upstream `encrypted_content` (Anthropic `signature`).
        encrypted_content: Option<JsonText>,
    },
    /// Token counts for the whole response.
    Usage(Usage),
    /// The answer is complete.
    Finish(FinishReason),
    /// The upstream failed; the stream ends here.
    Error(UpstreamFailure),
}

impl ChatEvent {
    /// True for events that carry no content (`Start`), i.e. events a server may hold back
    /// before committing a 200 status, so that an `Error` right after them can still become an
    /// HTTP error (protocols.md §5.7, last paragraph).
    pub fn is_metadata(&self) -> bool {
        matches!(self, Self::Start(_))
    }

    /// True for `Finish` and `Error`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Finish(_) | Self::Error(_))
    }
}

/// Identity of the upstream response (Responses `response.created`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseStart {
    /// Upstream response id (`resp_…`); empty when the upstream sent none.
    pub id: Box<str>,
    /// Upstream model slug; empty when the upstream sent none.
    pub model: Box<str>,
    /// Unix time in seconds (`created_at`); 0 when the upstream sent none.
    pub created: u64,
}

/// What a content block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Answer text.
    Text,
    /// Reasoning summary (or raw reasoning) text.
    Reasoning,
    /// A web search the backend ran itself (Responses `web_search_call`). It opens when the
    /// search is done and stops right after, with no deltas: the results went to the model.
    WebSearch {
        /// The upstream item id (`ws_…`).
        id: Box<str>,
        /// What was searched; empty when the upstream did not say.
        query: Box<str>,
    },
    /// A tool call.
    ToolCall {
        /// Call id (`call_…`), to be echoed in the tool result.
        call_id: Box<str>,
        /// Tool name, as the client declared it (restored when the encoder shortened it).
        name: Box<str>,
    },
}

/// Token counts (OpenAI Responses convention, protocols.md §1.8 "Usage semantics").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Of `input_tokens`, how many were served from the prompt cache.
    pub cached_input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Of `output_tokens`, how many were reasoning.
    pub reasoning_output_tokens: u64,
    /// `input_tokens + output_tokens` unless the upstream said otherwise.
    pub total_tokens: u64,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishReason {
    /// Natural end of the answer.
    Stop,
    /// Output token limit (`response.incomplete` with `max_output_tokens`).
    Length,
    /// The answer ends with tool calls.
    ToolCalls,
    /// Stopped by the content filter.
    ContentFilter,
}
