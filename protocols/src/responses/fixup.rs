//! Fix-ups that make a client's own Responses body acceptable to the Codex backend, for the
//! `/v1/responses` and `/v1/responses/compact` passthrough routes.

use serde_json::{Map, Value};

use crate::canonical::{ChatRequest, ProtocolError, ServiceTier};
use crate::models::ModelCatalog;

use super::encode::INCLUDE_ENCRYPTED_REASONING;
use super::names::{shorten_id, ToolNameMap, MAX_ID_LEN};

/// Body fields the backend knows for `POST …/codex/responses` (Codex `ResponsesApiRequest`,
/// protocols.md §1.3). Everything else is dropped: unknown parameters are a hard 400.
pub const RESPONSES_FIELDS: &[&str] = &[
    "model",
    "instructions",
    "input",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "stream",
    "include",
    "service_tier",
    "prompt_cache_key",
    "text",
    "client_metadata",
];

/// Body fields of `POST …/codex/responses/compact` (protocols.md §1.1).
pub const COMPACT_FIELDS: &[&str] = &[
    "model",
    "instructions",
    "input",
    "tools",
    "parallel_tool_calls",
    "reasoning",
    "text",
];

/// A client body rewritten for the backend.
#[derive(Debug, Clone)]
pub struct FixedRequest {
    /// Compact JSON body to send upstream.
    pub body: Vec<u8>,
    /// Shortened tool names; restore them in forwarded events with
    /// [`ToolNameMap::restore_event`].
    pub tool_names: ToolNameMap,
    /// The client's `stream` value (default false, as in the public Responses API): when false
    /// the server must collect the upstream stream and answer with the final response object.
    pub client_stream: bool,
    /// Top-level fields that were removed, for logging.
    pub dropped: Vec<String>,
    /// The body's `prompt_cache_key`, the conversation id (sent as the `session_id` header
    /// unless the client sent one).
    pub prompt_cache_key: Option<String>,
}

/// Parses a client's Responses body: one parse, which the fix-ups then edit in place.
///
/// # Errors
/// [`ProtocolError::InvalidJson`] when `body` is not JSON; [`ProtocolError::InvalidRequest`]
/// when it is not an object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ProtocolError> {
    match serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)? {
        Value::Object(obj) => Ok(obj),
        _ => Err(ProtocolError::invalid(
            "request body must be a JSON object",
            None,
        )),
    }
}

/// Resolves the body's `model` through `catalog` (aliases, `-high` / `-fast` suffixes, the
/// default effort): `model` is rewritten, and `reasoning.effort` / `service_tier` are added
/// unless the body sets them.
pub fn resolve_model(obj: &mut Map<String, Value>, catalog: &ModelCatalog) {
    let requested = obj
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut scratch = ChatRequest {
        model: requested.clone(),
        ..ChatRequest::default()
    };
    catalog.apply(&mut scratch);
    if scratch.model != requested {
        obj.insert("model".into(), scratch.model.into());
    }
    if let Some(effort) = scratch.reasoning_effort {
        let reasoning = obj
            .entry("reasoning")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(r) = reasoning {
            r.entry("effort").or_insert_with(|| effort.as_str().into());
        }
    }
    if let Some(tier) = scratch.service_tier {
        obj.entry("service_tier")
            .or_insert_with(|| tier.as_str().into());
    }
}

/// Fixes a `/v1/responses` body (protocols.md §1.3, §7 items 1, 2, 14, 16):
///
/// - `store:false`, `stream:true` (the client's `stream` is reported in
///   [`FixedRequest::client_stream`]);
/// - `instructions:""` when missing or `null` (Codex CLI sends its system prompt as a first
///   developer `input` item and no `instructions`, clients.md §4);
/// - `include` gets `reasoning.encrypted_content` unless `reasoning.effort` is `none`;
/// - a string `input` becomes one user message;
/// - `service_tier` `fast` → `priority`; values other than `priority`/`flex` are dropped;
/// - fields outside the backend's request struct are dropped (`max_output_tokens`,
///   `temperature`, `top_p`, `previous_response_id`, `stream_options`, `metadata`, …);
/// - tool names, call ids and item ids over 64 bytes are shortened (reasoning items with a
///   longer id are dropped, as CPA does).
///
/// # Errors
/// [`ProtocolError::InvalidJson`] when `body` is not JSON; [`ProtocolError::InvalidRequest`]
/// when it is not an object or lacks a string `model` or an `input`.
pub fn fixup_responses_request(body: &[u8]) -> Result<FixedRequest, ProtocolError> {
    fixup_responses_object(parse_object(body)?)
}

/// [`fixup_responses_request`] on a body already parsed with [`parse_object`].
///
/// # Errors
/// [`ProtocolError::InvalidRequest`] when the body lacks a string `model` or an `input`.
pub fn fixup_responses_object(mut obj: Map<String, Value>) -> Result<FixedRequest, ProtocolError> {
    let client_stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let dropped = retain_fields(&mut obj, RESPONSES_FIELDS);
    let tool_names = common_fixups(&mut obj)?;
    obj.insert("store".into(), Value::Bool(false));
    obj.insert("stream".into(), Value::Bool(true));

    let reasoning_off = obj
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str)
        == Some("none");
    if !reasoning_off {
        let include = obj
            .entry("include")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !include.is_array() {
            *include = Value::Array(Vec::new());
        }
        if let Value::Array(list) = include {
            if !list.iter().any(|v| v == INCLUDE_ENCRYPTED_REASONING) {
                list.push(INCLUDE_ENCRYPTED_REASONING.into());
            }
        }
    }
    if let Some(tier) = obj.remove("service_tier") {
        if let Some(tier) = tier.as_str().and_then(ServiceTier::parse) {
            obj.insert("service_tier".into(), tier.as_str().into());
        }
    }
    finish(obj, tool_names, client_stream, dropped)
}

/// Fixes a `/v1/responses/compact` body: keeps only `model, instructions, input, tools,
/// parallel_tool_calls, reasoning, text`, adds `instructions:""` when missing, applies the same
/// 64-byte rule. The compact endpoint is unary: no `store`, `stream` or `include`.
///
/// # Errors
/// As [`fixup_responses_request`].
pub fn fixup_compact_request(body: &[u8]) -> Result<FixedRequest, ProtocolError> {
    fixup_compact_object(parse_object(body)?)
}

/// [`fixup_compact_request`] on a body already parsed with [`parse_object`].
///
/// # Errors
/// As [`fixup_responses_object`].
pub fn fixup_compact_object(mut obj: Map<String, Value>) -> Result<FixedRequest, ProtocolError> {
    let dropped = retain_fields(&mut obj, COMPACT_FIELDS);
    let tool_names = common_fixups(&mut obj)?;
    finish(obj, tool_names, false, dropped)
}

fn retain_fields(obj: &mut Map<String, Value>, allowed: &[&str]) -> Vec<String> {
    let dropped: Vec<String> = obj
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in &dropped {
        obj.remove(key);
    }
    dropped
}

fn common_fixups(obj: &mut Map<String, Value>) -> Result<ToolNameMap, ProtocolError> {
    if !obj.get("model").is_some_and(Value::is_string) {
        return Err(ProtocolError::invalid(
            "model is required and must be a string",
            Some("model"),
        ));
    }
    match obj.get("instructions") {
        None | Some(Value::Null) => {
            obj.insert("instructions".into(), Value::String(String::new()));
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(ProtocolError::invalid(
                "instructions must be a string",
                Some("instructions"),
            ))
        }
    }
    let input = obj
        .get_mut("input")
        .ok_or_else(|| ProtocolError::invalid("input is required", Some("input")))?;
    if let Value::String(text) = input {
        let text = std::mem::take(text);
        *input = serde_json::json!([{
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }]);
    }

    let tool_names = {
        let declared: Vec<&str> = obj
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .collect();
        ToolNameMap::build(declared.iter().copied())
    };
    let mut names = tool_names;
    if let Some(Value::Array(tools)) = obj.get_mut("tools") {
        for tool in tools {
            shorten_name_field(tool, &mut names);
        }
    }
    if let Some(choice @ Value::Object(_)) = obj.get_mut("tool_choice") {
        shorten_name_field(choice, &mut names);
    }
    if let Some(Value::Array(items)) = obj.get_mut("input") {
        items.retain(|item| {
            !(item.get("type").and_then(Value::as_str) == Some("reasoning")
                && item
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.len() > MAX_ID_LEN))
        });
        for item in items.iter_mut() {
            fix_item(item, &mut names);
        }
    }
    Ok(names)
}

fn fix_item(item: &mut Value, names: &mut ToolNameMap) {
    let Value::Object(map) = item else {
        return;
    };
    if map
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.len() > MAX_ID_LEN)
    {
        map.remove("id");
    }
    if let Some(Value::String(call_id)) = map.get_mut("call_id") {
        if call_id.len() > MAX_ID_LEN {
            *call_id = shorten_id(call_id).into_owned();
        }
    }
    let is_call = matches!(
        map.get("type").and_then(Value::as_str),
        Some("function_call" | "custom_tool_call")
    );
    if is_call {
        shorten_name_field(item, names);
    }
}

fn shorten_name_field(value: &mut Value, names: &mut ToolNameMap) {
    if let Some(Value::String(name)) = value.get_mut("name") {
        if name.len() > MAX_ID_LEN {
            *name = names.shorten(name);
        }
    }
}

fn finish(
    obj: Map<String, Value>,
    tool_names: ToolNameMap,
    client_stream: bool,
    dropped: Vec<String>,
) -> Result<FixedRequest, ProtocolError> {
    let prompt_cache_key = obj
        .get("prompt_cache_key")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let body = serde_json::to_vec(&Value::Object(obj)).map_err(ProtocolError::Serialize)?;
    Ok(FixedRequest {
        body,
        tool_names,
        client_stream,
        dropped,
        prompt_cache_key,
    })
}
