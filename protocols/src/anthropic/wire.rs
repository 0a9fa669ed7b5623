//! Serde types of the Anthropic Messages API (protocols.md §4b, clients.md §3.2).
//!
//! Requests are read into owned structs: content blocks are an internally tagged enum (by
//! `type`), which serde buffers, so borrowing would gain nothing. Fields the proxy accepts and
//! drops (`max_tokens`, `temperature`, `top_p`, `top_k`, `stop_sequences`,
//! `context_management`, `cache_control` everywhere, `betas`…) are not declared, so serde skips
//! them. Responses are written from serialization-only structs that borrow the egress state,
//! with text as raw [`JsonText`] literals.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::JsonText;

// ---------------------------------------------------------------------------------------------
// Request (deserialize)
// ---------------------------------------------------------------------------------------------

/// `POST /v1/messages` (and `/v1/messages/count_tokens`) body.
#[derive(Debug, Deserialize)]
pub(crate) struct RequestWire {
    pub model: String,
    #[serde(default)]
    pub system: Option<SystemWire>,
    pub messages: Vec<MessageWire>,
    #[serde(default)]
    pub tools: Option<Vec<ToolWire>>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoiceWire>,
    #[serde(default)]
    pub thinking: Option<ThinkingWire>,
    #[serde(default)]
    pub output_config: Option<OutputConfigWire>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub metadata: Option<MetadataWire>,
    /// `auto` | `standard_only`, or a proxy client's `fast` / `priority` / `flex`.
    #[serde(default)]
    pub service_tier: Option<String>,
    /// Claude Code's fast mode (`"fast"`).
    #[serde(default)]
    pub speed: Option<String>,
}

/// `system`: a string or text blocks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum SystemWire {
    Text(String),
    Blocks(Vec<SystemBlockWire>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct SystemBlockWire {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// A message; `content` is a string or an array of blocks, read block by block into
/// [`BlockWire`] so that an unknown block is reported with its position.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageWire {
    pub role: String,
    pub content: Value,
}

/// One content block a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockWire {
    Text {
        text: String,
    },
    Image {
        source: SourceWire,
    },
    Document {
        source: SourceWire,
        #[serde(default)]
        title: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<Value>,
        #[serde(default)]
        is_error: Option<bool>,
    },
    /// `thinking` (the summary text) is not read: the signature carries the reasoning.
    Thinking {
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    /// A server tool call from an earlier turn (web search): the backend searched itself, so
    /// there is nothing to replay.
    ServerToolUse {},
    /// The result of a server tool call from an earlier turn; dropped like its call.
    WebSearchToolResult {},
}

/// Where an image's or a document's bytes are.
#[derive(Debug, Deserialize)]
pub(crate) struct SourceWire {
    /// `base64`, `url` or `text` (plain-text documents).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A tool: a client tool (`type` absent or `custom`) or a server tool (`web_search_…`).
#[derive(Debug, Deserialize)]
pub(crate) struct ToolWire {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub input_schema: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolChoiceWire {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ThinkingWire {
    /// `enabled`, `disabled` or `adaptive`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub budget_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutputConfigWire {
    /// `low`, `medium`, `high`, `max`.
    #[serde(default)]
    pub effort: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MetadataWire {
    #[serde(default)]
    pub user_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Response (serialize)
// ---------------------------------------------------------------------------------------------

/// `message_start`.
#[derive(Debug, Serialize)]
pub(crate) struct MessageStartOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: MessageOut<'a>,
}

/// The message object: in `message_start` (empty content, `stop_reason:null`) and as the
/// non-streaming body.
#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: &'a [ContentOut<'a>],
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<&'static str>,
    pub usage: UsageOut,
}

/// Anthropic `usage`: `input_tokens` excludes the cached prompt tokens, which are
/// `cache_read_input_tokens` (gateways.md §3).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct UsageOut {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

/// A content block, in `content_block_start` (empty) and in a non-streaming body (whole).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentOut<'a> {
    Text {
        text: &'a JsonText,
    },
    Thinking {
        thinking: &'a JsonText,
        signature: &'a JsonText,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a serde_json::value::RawValue,
    },
    /// A web search the backend ran (`name:"web_search"`, `input:{"query":…}`).
    ServerToolUse {
        id: &'a str,
        name: &'static str,
        input: &'a serde_json::value::RawValue,
    },
    /// The result block of a [`ContentOut::ServerToolUse`]: the backend does not hand its
    /// search results over, so `content` is empty.
    WebSearchToolResult {
        tool_use_id: &'a str,
        content: &'a [Value],
    },
}

#[derive(Debug, Serialize)]
pub(crate) struct BlockStartOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub index: u32,
    pub content_block: ContentOut<'a>,
}

/// `content_block_delta`: the egress writes its bytes directly (`egress::write_delta`, the hot
/// path); this type is the reference shape the tests compare those bytes with.
#[derive(Debug, Serialize)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct BlockDeltaOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub index: u32,
    pub delta: DeltaOut<'a>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the variants are the wire's `type` names
pub(crate) enum DeltaOut<'a> {
    TextDelta { text: &'a JsonText },
    ThinkingDelta { thinking: &'a JsonText },
    SignatureDelta { signature: &'a JsonText },
    InputJsonDelta { partial_json: &'a JsonText },
}

#[derive(Debug, Serialize)]
pub(crate) struct BlockStopOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub index: u32,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageDeltaOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub delta: StopOut,
    pub usage: UsageOut,
}

#[derive(Debug, Serialize)]
pub(crate) struct StopOut {
    pub stop_reason: &'static str,
    pub stop_sequence: Option<&'static str>,
}
