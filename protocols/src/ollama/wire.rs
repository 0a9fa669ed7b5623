//! Serde types of the Ollama API (protocols.md §4d, clients.md §3.4;
//! docs.ollama.com/api): `/api/chat` and `/api/generate` requests and their NDJSON lines.
//!
//! Requests are read into owned structs; responses are written from serialization-only structs
//! that borrow the egress state, with text as raw [`JsonText`] literals.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::canonical::JsonText;

// ---------------------------------------------------------------------------------------------
// Requests (deserialize)
// ---------------------------------------------------------------------------------------------

/// `POST /api/chat` body. Accepted but ignored: `options` (`temperature`, `num_predict`,
/// `num_ctx`, `stop`…: the upstream rejects sampling fields), `keep_alive`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequestWire {
    pub model: String,
    #[serde(default)]
    pub messages: Vec<MessageWire>,
    #[serde(default)]
    pub tools: Option<Vec<ToolWire>>,
    #[serde(default)]
    pub format: Option<Value>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub think: Option<Value>,
}

/// `POST /api/generate` body. Accepted but ignored: `suffix`, `raw`, `context`, `template`,
/// `options`, `keep_alive`.
#[derive(Debug, Deserialize)]
pub(crate) struct GenerateRequestWire {
    pub model: String,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<String>>,
    #[serde(default)]
    pub format: Option<Value>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub think: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageWire {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<String>>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallWire>>,
    /// The function a `tool` message answers (`name` in older clients).
    #[serde(default, alias = "name")]
    pub tool_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallWire {
    #[serde(default)]
    pub id: Option<String>,
    pub function: FunctionCallWire,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallWire {
    pub name: String,
    /// An object (Ollama's form); a JSON text is accepted too.
    #[serde(default)]
    pub arguments: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolWire {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub function: FunctionWire,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionWire {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Responses (serialize)
// ---------------------------------------------------------------------------------------------

/// The fields of the last line (`done:true`) and of a non-streaming body; durations in
/// nanoseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct DoneOut {
    pub done_reason: &'static str,
    pub total_duration: u64,
    pub load_duration: u64,
    pub prompt_eval_count: u64,
    pub prompt_eval_duration: u64,
    pub eval_count: u64,
    pub eval_duration: u64,
}

/// One `/api/chat` line (or the whole non-streaming body).
#[derive(Debug, Serialize)]
pub(crate) struct ChatLineOut<'a> {
    pub model: &'a str,
    pub created_at: &'a str,
    pub message: MessageOut<'a>,
    pub done: bool,
    #[serde(flatten)]
    pub end: Option<DoneOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub role: &'static str,
    pub content: &'a JsonText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tool_calls: &'a [ToolCallOut<'a>],
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolCallOut<'a> {
    pub function: FunctionOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionOut<'a> {
    pub name: &'a str,
    pub arguments: &'a RawValue,
}

/// One `/api/generate` line (or the whole non-streaming body).
#[derive(Debug, Serialize)]
pub(crate) struct GenerateLineOut<'a> {
    pub model: &'a str,
    pub created_at: &'a str,
    pub response: &'a JsonText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<&'a JsonText>,
    pub done: bool,
    #[serde(flatten)]
    pub end: Option<DoneOut>,
}

/// `{"error":"…"}`, Ollama's error body and in-band error line.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorOut<'a> {
    pub error: &'a str,
}
