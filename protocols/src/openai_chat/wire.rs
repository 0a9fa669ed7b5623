//! Serde types of OpenAI Chat Completions (protocols.md §4a, clients.md §3.1).
//!
//! Requests are read into borrowed structs (fields the proxy drops are never materialized:
//! serde skips them). Responses are written from serialization-only structs that borrow
//! the egress state, with text as raw [`JsonText`] literals.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::canonical::JsonText;

// ---------------------------------------------------------------------------------------------
// Request (deserialize)
// ---------------------------------------------------------------------------------------------

/// `POST /v1/chat/completions` body. Accepted but ignored (not declared, so skipped):
/// `temperature`, `top_p`, `max_tokens`, `max_completion_tokens`, `stop`, `seed`, `user`,
/// `metadata`, `logprobs`, `top_logprobs`, `frequency_penalty`, `presence_penalty`,
/// `logit_bias`, `store`, `modalities`, `audio`, `prediction`, `web_search_options`.
#[derive(Debug, Deserialize)]
pub(crate) struct RequestWire<'a> {
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    #[serde(borrow)]
    pub messages: Vec<MessageWire<'a>>,
    #[serde(default, borrow)]
    pub tools: Option<Vec<ToolWire<'a>>>,
    #[serde(default, borrow)]
    pub tool_choice: Option<&'a RawValue>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, borrow)]
    pub response_format: Option<ResponseFormatWire<'a>>,
    #[serde(default, borrow)]
    pub reasoning_effort: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub verbosity: Option<Cow<'a, str>>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptionsWire>,
    #[serde(default)]
    pub n: Option<u32>,
    #[serde(default, borrow)]
    pub service_tier: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub prompt_cache_key: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageWire<'a> {
    #[serde(borrow)]
    pub role: Cow<'a, str>,
    /// A string, an array of parts, or `null`.
    #[serde(default, borrow)]
    pub content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub tool_calls: Option<Vec<ToolCallWire<'a>>>,
    #[serde(default, borrow)]
    pub tool_call_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PartWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub image_url: Option<ImageUrlWire>,
}

/// `image_url` is `{url, detail?}` in the spec; some clients send a bare string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ImageUrlWire {
    Object {
        url: String,
        #[serde(default)]
        detail: Option<String>,
    },
    Url(String),
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallWire<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub function: FunctionCallWire<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallWire<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub arguments: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub function: Option<FunctionWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionWire {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolChoiceObjectWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub function: Option<NameWire<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NameWire<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseFormatWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub json_schema: Option<JsonSchemaWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct JsonSchemaWire {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamOptionsWire {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Response (serialize)
// ---------------------------------------------------------------------------------------------

/// A `chat.completion.chunk`. Every chunk has `id`, `object`, `created`, `model`, `choices`
/// (clients.md §7 item 2: async-openai rejects chunks without them).
#[derive(Debug, Serialize)]
pub(crate) struct ChunkOut<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: &'a [ChoiceOut<'a>],
    /// `Some(None)` writes `"usage":null` (spec form with `include_usage`), `None` omits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<UsageOut>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChoiceOut<'a> {
    pub index: u32,
    pub delta: DeltaOut<'a>,
    pub finish_reason: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct DeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<[ToolCallDeltaOut<'a>; 1]>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolCallDeltaOut<'a> {
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub function: FunctionDeltaOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionDeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub arguments: &'a JsonText,
}

/// Chat `usage` (protocols.md §5.2 "Usage").
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct UsageOut {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: CachedOut,
    pub completion_tokens_details: ReasoningTokensOut,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CachedOut {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct ReasoningTokensOut {
    pub reasoning_tokens: u64,
}

/// The non-streaming `chat.completion` object.
#[derive(Debug, Serialize)]
pub(crate) struct CompletionOut<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: [CompletionChoiceOut<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CompletionChoiceOut<'a> {
    pub index: u32,
    pub message: MessageOut<'a>,
    pub finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub role: &'static str,
    pub content: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tool_calls: &'a [ToolCallOut],
}

/// One complete tool call of a non-streaming answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ToolCallOut {
    pub id: Box<str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionOut,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FunctionOut {
    pub name: Box<str>,
    pub arguments: JsonText,
}
