//! Serde types of the Codex Responses backend (protocols.md §1.3–1.8).
//!
//! Upstream events are read into borrowed structs: ids borrow from the event payload, text
//! stays a borrowed raw JSON literal until it becomes a [`crate::JsonText`]. Unknown fields
//! (`sequence_number`, `logprobs`, `obfuscation`, …) are skipped. The request body is written
//! from serialization-only structs that borrow the canonical request.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Upstream events (deserialize)
// ---------------------------------------------------------------------------------------------

/// Any upstream event: one flat struct with every field an event of interest may carry, so
/// the payload is parsed in one pass whatever its `type`.
#[derive(Debug, Deserialize)]
pub(crate) struct EventWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub output_index: Option<u32>,
    /// `*.delta` events.
    #[serde(default, borrow)]
    pub delta: Option<&'a RawValue>,
    /// `function_call_arguments.done`.
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
    /// `custom_tool_call_input.done`.
    #[serde(default, borrow)]
    pub input: Option<&'a RawValue>,
    /// `output_item.added` / `.done`.
    #[serde(default, borrow)]
    pub item: Option<ItemWire<'a>>,
    /// `response.*` lifecycle events.
    #[serde(default, borrow)]
    pub response: Option<ResponseWire<'a>>,
    /// `error` event, Codex form `{"error":{…}}`.
    #[serde(default, borrow)]
    pub error: Option<ErrorWire<'a>>,
    /// `error` event, public API flat form `{"code","message"}`.
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
}

/// An output item (`message`, `reasoning`, `function_call`, `custom_tool_call`, …).
#[derive(Debug, Deserialize)]
pub(crate) struct ItemWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub content: Option<Vec<PartWire<'a>>>,
    #[serde(default, borrow)]
    pub summary: Option<Vec<PartWire<'a>>>,
    #[serde(default, borrow)]
    pub encrypted_content: Option<&'a RawValue>,
    /// `web_search_call`: what was searched.
    #[serde(default, borrow)]
    pub action: Option<ActionWire<'a>>,
}

/// The `action` of a `web_search_call` item (`{"type":"search","query":…}`).
#[derive(Debug, Deserialize)]
pub(crate) struct ActionWire<'a> {
    #[serde(default, borrow)]
    pub query: Option<Cow<'a, str>>,
}

/// A content part (`output_text`, `refusal`) or summary part (`summary_text`).
#[derive(Debug, Deserialize)]
pub(crate) struct PartWire<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub text: Option<&'a RawValue>,
}

/// The `response` object of lifecycle events.
#[derive(Debug, Deserialize)]
pub(crate) struct ResponseWire<'a> {
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub created_at: Option<u64>,
    #[serde(default, borrow)]
    pub output: Option<Vec<ItemWire<'a>>>,
    #[serde(default)]
    pub usage: Option<UsageWire>,
    #[serde(default, borrow)]
    pub error: Option<ErrorWire<'a>>,
    #[serde(default, borrow)]
    pub incomplete_details: Option<IncompleteWire<'a>>,
}

/// `usage` (protocols.md §1.8); details may be `null`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsageWire {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub input_tokens_details: Option<InputDetailsWire>,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub output_tokens_details: Option<OutputDetailsWire>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InputDetailsWire {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutputDetailsWire {
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

/// An error object (`response.error`, `error.error`, protocols.md §1.10).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorWire<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default)]
    pub resets_in_seconds: Option<f64>,
    #[serde(default)]
    pub resets_at: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IncompleteWire<'a> {
    #[serde(default, borrow)]
    pub reason: Option<Cow<'a, str>>,
}

// ---------------------------------------------------------------------------------------------
// Request body (serialize)
// ---------------------------------------------------------------------------------------------

/// The `POST /backend-api/codex/responses` body (protocols.md §1.3, §1.6). Field order
/// follows Codex's `ResponsesApiRequest`.
#[derive(Debug, Serialize)]
pub(crate) struct RequestBody<'a> {
    pub model: &'a str,
    pub instructions: &'a str,
    pub input: Vec<InputItemOut<'a>>,
    pub tools: Vec<ToolOut<'a>>,
    pub tool_choice: ToolChoiceOut<'a>,
    pub parallel_tool_calls: bool,
    pub reasoning: ReasoningOut,
    pub store: bool,
    pub stream: bool,
    pub include: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum InputItemOut<'a> {
    Message {
        role: &'static str,
        content: Vec<ContentOut<'a>>,
    },
    FunctionCall {
        call_id: Cow<'a, str>,
        name: String,
        arguments: &'a str,
    },
    FunctionCallOutput {
        call_id: Cow<'a, str>,
        output: OutputOut<'a>,
    },
    Reasoning {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        summary: Vec<SummaryOut<'a>>,
        content: Option<()>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<&'a str>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentOut<'a> {
    InputText {
        text: &'a str,
    },
    OutputText {
        text: &'a str,
    },
    InputImage {
        image_url: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    },
    InputFile {
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<&'a str>,
    },
}

/// A `function_call_output.output`: a string, or content items for images and files (Codex
/// `FunctionCallOutputPayload`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum OutputOut<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<ContentOut<'a>>),
}

#[derive(Debug, Serialize)]
pub(crate) struct SummaryOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
}

/// A tool: a flat function tool (protocols.md §1.5: no nested `function` object), or a hosted
/// tool, which has only its `type`.
#[derive(Debug, Serialize)]
pub(crate) struct ToolOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ToolChoiceOut<'a> {
    Mode(&'static str),
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        name: Cow<'a, str>,
    },
}

#[derive(Debug, Serialize)]
pub(crate) struct ReasoningOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TextOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<FormatOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum FormatOut<'a> {
    JsonObject,
    JsonSchema {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        schema: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}
