//! Ollama `/api/chat` and `/api/generate` bodies → canonical [`ChatRequest`] (protocols.md
//! §4d, §5.5; clients.md §3.4).

use std::collections::VecDeque;

use serde_json::Value;

use crate::canonical::{
    ChatRequest, ContentPart, FunctionTool, InputItem, ProtocolError, ReasoningEffort,
    ReasoningSummary, Role, TextFormat, Tool, ToolOutput,
};

use super::wire::{ChatRequestWire, GenerateRequestWire, MessageWire, ToolWire};

/// Name of the structured-output format sent upstream for a `format` schema.
pub const SCHEMA_NAME: &str = "ollama_schema";

/// A parsed Ollama request: the canonical request and what only the Ollama egress needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedOllama {
    /// The canonical request; `stream` defaults to true, as in Ollama.
    pub request: ChatRequest,
    /// The model name to echo in every line, as the client sent it.
    pub model: String,
    /// `think` was set (true or a level): reasoning is written as `thinking`.
    pub think: bool,
}

/// Parses a `POST /api/chat` body.
///
/// Mapping (protocols.md §5.5):
/// - leading `system` messages → instructions (joined with a blank line); later ones →
///   developer messages;
/// - `user`: `content` and `images` (base64, the type sniffed from the bytes: PNG, JPEG, GIF,
///   WebP; `data:` URLs kept) → one message;
/// - `assistant`: `content` (when not empty), then one function call per `tool_calls[]`
///   (`arguments` an object, or a JSON text). Ollama clients send no call ids: each call gets
///   `call_ol<n>` (or its `id`), and a `tool` message takes the oldest unanswered call named
///   `tool_name` (or, without a name, the oldest unanswered call);
/// - `tools` → function tools (`[]` means none); `format`: `"json"` → a JSON object, a schema
///   object → a JSON schema named [`SCHEMA_NAME`]; `think`: `true` / `"low"` / `"medium"` /
///   `"high"` → reasoning summaries written as `thinking` (a level also sets the effort),
///   `false` or absent → no summary asked for;
/// - a `:latest` tag is removed from the model name; `options` and `keep_alive` are dropped.
///
/// # Errors
/// [`ProtocolError::InvalidJson`] for a body that is not a chat request;
/// [`ProtocolError::InvalidRequest`] for an unknown role, a `tool` message with no call to
/// answer, a tool type other than `function`, a `format` string other than `json`, or an
/// unknown `think` level.
pub fn parse_chat(body: &[u8]) -> Result<ParsedOllama, ProtocolError> {
    let wire: ChatRequestWire = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    let mut req = base_request(&wire.model, wire.stream)?;
    let think = apply_think(wire.think.as_ref(), &mut req)?;
    req.text_format = format_of(wire.format)?;
    let mut calls = Calls::default();
    let mut leading = true;
    for msg in wire.messages {
        if leading && msg.role == "system" {
            let text = msg.content.unwrap_or_default();
            if !text.is_empty() {
                if !req.instructions.is_empty() {
                    req.instructions.push_str("\n\n");
                }
                req.instructions.push_str(&text);
            }
            continue;
        }
        leading = false;
        convert_message(msg, &mut calls, &mut req.input)?;
    }
    for tool in wire.tools.into_iter().flatten() {
        req.tools.push(convert_tool(tool)?);
    }
    Ok(ParsedOllama {
        request: req,
        model: wire.model,
        think,
    })
}

/// Parses a `POST /api/generate` body: `system` → instructions, `prompt` and `images` → one
/// user message; `format`, `think`, `stream` as in [`parse_chat`].
///
/// # Errors
/// As [`parse_chat`].
pub fn parse_generate(body: &[u8]) -> Result<ParsedOllama, ProtocolError> {
    let wire: GenerateRequestWire =
        serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    let mut req = base_request(&wire.model, wire.stream)?;
    let think = apply_think(wire.think.as_ref(), &mut req)?;
    req.text_format = format_of(wire.format)?;
    req.instructions = wire.system.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(prompt) = wire.prompt.filter(|p| !p.is_empty()) {
        content.push(ContentPart::Text(prompt));
    }
    content.extend(wire.images.into_iter().flatten().map(image));
    if !content.is_empty() {
        req.input.push(InputItem::Message {
            role: Role::User,
            content,
        });
    }
    Ok(ParsedOllama {
        request: req,
        model: wire.model,
        think,
    })
}

/// The model name without Ollama's default `:latest` tag.
pub fn model_name(name: &str) -> &str {
    name.strip_suffix(":latest").unwrap_or(name)
}

fn base_request(model: &str, stream: Option<bool>) -> Result<ChatRequest, ProtocolError> {
    if model.trim().is_empty() {
        return Err(ProtocolError::invalid("model is required", Some("model")));
    }
    Ok(ChatRequest {
        model: model_name(model).to_owned(),
        stream: stream.unwrap_or(true),
        ..ChatRequest::default()
    })
}

fn apply_think(think: Option<&Value>, req: &mut ChatRequest) -> Result<bool, ProtocolError> {
    let on = match think {
        None | Some(Value::Null | Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::String(level)) => {
            req.reasoning_effort = Some(match level.as_str() {
                "low" => ReasoningEffort::Low,
                "medium" => ReasoningEffort::Medium,
                "high" => ReasoningEffort::High,
                _ => {
                    return Err(ProtocolError::invalid(
                        format!("unsupported think level {level:?}: expected true, false, \"low\", \"medium\" or \"high\""),
                        Some("think"),
                    ))
                }
            });
            true
        }
        Some(_) => {
            return Err(ProtocolError::invalid(
                "think must be a boolean or \"low\", \"medium\", \"high\"",
                Some("think"),
            ))
        }
    };
    if !on {
        req.reasoning_summary = Some(ReasoningSummary::None);
    }
    Ok(on)
}

fn format_of(format: Option<Value>) -> Result<Option<TextFormat>, ProtocolError> {
    match format {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "json" => Ok(Some(TextFormat::JsonObject)),
        Some(schema @ Value::Object(_)) => Ok(Some(TextFormat::JsonSchema {
            name: SCHEMA_NAME.into(),
            description: None,
            schema,
            strict: None,
        })),
        Some(_) => Err(ProtocolError::invalid(
            "format must be \"json\" or a JSON schema object",
            Some("format"),
        )),
    }
}

/// Call ids of the conversation's tool calls, oldest first, with their names.
#[derive(Default)]
struct Calls {
    next: u32,
    pending: VecDeque<(String, String)>,
}

fn convert_message(
    msg: MessageWire,
    calls: &mut Calls,
    input: &mut Vec<InputItem>,
) -> Result<(), ProtocolError> {
    let text = msg.content.unwrap_or_default();
    match msg.role.as_str() {
        "system" => input.push(InputItem::Message {
            role: Role::Developer,
            content: vec![ContentPart::Text(text)],
        }),
        "user" => {
            let mut content = Vec::new();
            if !text.is_empty() {
                content.push(ContentPart::Text(text));
            }
            content.extend(msg.images.into_iter().flatten().map(image));
            input.push(InputItem::Message {
                role: Role::User,
                content,
            });
        }
        "assistant" => {
            if !text.is_empty() {
                input.push(InputItem::Message {
                    role: Role::Assistant,
                    content: vec![ContentPart::Text(text)],
                });
            }
            for call in msg.tool_calls.into_iter().flatten() {
                let call_id = call.id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
                    calls.next += 1;
                    format!("call_ol{}", calls.next - 1)
                });
                let arguments = match call.function.arguments {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(Value::String(s)) => s,
                    Some(v) => v.to_string(),
                };
                calls
                    .pending
                    .push_back((call.function.name.clone(), call_id.clone()));
                input.push(InputItem::FunctionCall {
                    call_id,
                    name: call.function.name,
                    arguments,
                });
            }
        }
        "tool" => {
            let pos = match msg.tool_name.as_deref().filter(|n| !n.is_empty()) {
                Some(name) => calls.pending.iter().position(|(n, _)| n == name),
                None => (!calls.pending.is_empty()).then_some(0),
            };
            let Some((_, call_id)) = pos.and_then(|p| calls.pending.remove(p)) else {
                return Err(ProtocolError::invalid(
                    format!(
                        "tool message{} answers no earlier assistant tool call",
                        msg.tool_name
                            .map(|n| format!(" for {n:?}"))
                            .unwrap_or_default()
                    ),
                    Some("messages"),
                ));
            };
            input.push(InputItem::FunctionCallOutput {
                call_id,
                output: ToolOutput::text(text),
            });
        }
        other => {
            return Err(ProtocolError::invalid(
                format!(
                    "unsupported message role {other:?}: expected system, user, assistant or tool"
                ),
                Some("messages"),
            ))
        }
    }
    Ok(())
}

fn convert_tool(tool: ToolWire) -> Result<Tool, ProtocolError> {
    match tool.kind.as_deref() {
        None | Some("function") => Ok(Tool::Function(FunctionTool {
            name: tool.function.name,
            description: tool.function.description,
            parameters: tool.function.parameters,
            strict: None,
        })),
        Some(other) => Err(ProtocolError::invalid(
            format!("unsupported tool type {other:?}: only function tools are supported"),
            Some("tools"),
        )),
    }
}

/// An Ollama image (bare base64, or a `data:` URL) → an image part with a `data:` URL.
fn image(data: String) -> ContentPart {
    let url = if data.starts_with("data:") {
        data
    } else {
        format!("data:{};base64,{data}", sniff_image(&data))
    };
    ContentPart::Image { url, detail: None }
}

/// The image type from the first base64 characters (the magic bytes, encoded).
fn sniff_image(base64: &str) -> &'static str {
    const TABLE: [(&str, &str); 4] = [
        ("iVBORw0KGgo", "image/png"),
        ("/9j/", "image/jpeg"),
        ("R0lGOD", "image/gif"),
        ("UklGR", "image/webp"),
    ];
    TABLE
        .iter()
        .find(|(magic, _)| base64.starts_with(magic))
        .map(|(_, mime)| *mime)
        .unwrap_or("image/png")
}
