//! Serde types of the Gemini API `generateContent` family (protocols.md §4c, clients.md §3.3).
//!
//! Requests are read into owned structs: field names are camelCase as the SDKs send them; the
//! snake_case spellings the REST API also accepts are aliases. Values the proxy passes on
//! unchanged (function arguments and responses, schemas) stay [`Value`]s. Responses are written
//! from serialization-only structs that borrow the egress state, with text as raw
//! [`JsonText`] literals.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::canonical::JsonText;

// ---------------------------------------------------------------------------------------------
// Request (deserialize)
// ---------------------------------------------------------------------------------------------

/// `POST models/{model}:generateContent` / `:streamGenerateContent` / `:countTokens` body.
/// Accepted but ignored: `safetySettings`, `cachedContent`, `labels`, the sampling fields of
/// `generationConfig` (`temperature`, `topP`, `topK`, `maxOutputTokens`, `stopSequences`,
/// `seed`, `presencePenalty`, `frequencyPenalty`…): the upstream rejects them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestWire {
    #[serde(default)]
    pub contents: Vec<ContentWire>,
    #[serde(default, alias = "system_instruction")]
    pub system_instruction: Option<ContentWire>,
    #[serde(default)]
    pub tools: Vec<ToolWire>,
    #[serde(default, alias = "tool_config")]
    pub tool_config: Option<ToolConfigWire>,
    #[serde(default, alias = "generation_config")]
    pub generation_config: Option<GenerationConfigWire>,
    /// `:countTokens` may wrap a whole request here instead of giving `contents`.
    #[serde(default, alias = "generate_content_request")]
    pub generate_content_request: Option<Box<RequestWire>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContentWire {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<PartWire>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartWire {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default, alias = "thought_signature")]
    pub thought_signature: Option<String>,
    #[serde(default, alias = "inline_data")]
    pub inline_data: Option<BlobWire>,
    #[serde(default, alias = "file_data")]
    pub file_data: Option<FileDataWire>,
    #[serde(default, alias = "function_call")]
    pub function_call: Option<FunctionCallWire>,
    #[serde(default, alias = "function_response")]
    pub function_response: Option<FunctionResponseWire>,
    #[serde(default, alias = "executable_code")]
    pub executable_code: Option<Value>,
    #[serde(default, alias = "code_execution_result")]
    pub code_execution_result: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlobWire {
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    pub data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileDataWire {
    #[serde(default, alias = "mime_type")]
    pub mime_type: Option<String>,
    #[serde(alias = "file_uri")]
    pub file_uri: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallWire {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub args: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionResponseWire {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub response: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolWire {
    #[serde(default, alias = "function_declarations")]
    pub function_declarations: Option<Vec<FunctionDeclarationWire>>,
    #[serde(default, alias = "google_search")]
    pub google_search: Option<Value>,
    #[serde(default, alias = "google_search_retrieval")]
    pub google_search_retrieval: Option<Value>,
    #[serde(default, alias = "code_execution")]
    pub code_execution: Option<Value>,
    #[serde(default, alias = "url_context")]
    pub url_context: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionDeclarationWire {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// OpenAPI-subset schema (upper-case `type`s).
    #[serde(default)]
    pub parameters: Option<Value>,
    /// Plain JSON Schema.
    #[serde(default, alias = "parameters_json_schema")]
    pub parameters_json_schema: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfigWire {
    #[serde(default, alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfigWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfigWire {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default, alias = "allowed_function_names")]
    pub allowed_function_names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfigWire {
    #[serde(default, alias = "response_mime_type")]
    pub response_mime_type: Option<String>,
    #[serde(default, alias = "response_schema")]
    pub response_schema: Option<Value>,
    #[serde(default, alias = "response_json_schema", alias = "_responseJsonSchema")]
    pub response_json_schema: Option<Value>,
    #[serde(default, alias = "thinking_config")]
    pub thinking_config: Option<ThinkingConfigWire>,
    #[serde(default, alias = "candidate_count")]
    pub candidate_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThinkingConfigWire {
    #[serde(default, alias = "thinking_budget")]
    pub thinking_budget: Option<i64>,
    #[serde(default, alias = "thinking_level")]
    pub thinking_level: Option<String>,
    #[serde(default, alias = "include_thoughts")]
    pub include_thoughts: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Response (serialize)
// ---------------------------------------------------------------------------------------------

/// One `GenerateContentResponse`: a whole non-streaming body, or one streamed chunk.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseOut<'a> {
    pub candidates: [CandidateOut<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageOut>,
    pub model_version: &'a str,
    pub response_id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidateOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    pub index: u32,
}

#[derive(Debug, Serialize)]
pub(crate) struct ContentOut<'a> {
    pub role: &'static str,
    pub parts: &'a [PartOut<'a>],
}

/// A response part: text, a thought (`thought:true`), or a function call.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a JsonText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<&'a JsonText>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionCallOut<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub args: &'a RawValue,
}

/// `usageMetadata`: Gemini counts thoughts apart from the candidates.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageOut {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub total_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cached_content_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub thoughts_token_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `{"error":{"code","message","status"}}`, Google's error body (also one in-band chunk).
#[derive(Debug, Serialize)]
pub(crate) struct ErrorEnvelope<'a> {
    pub error: ErrorOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorOut<'a> {
    pub code: u16,
    pub message: &'a str,
    pub status: &'static str,
}
