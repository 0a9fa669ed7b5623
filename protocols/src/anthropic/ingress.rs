//! Anthropic Messages request body → canonical [`ChatRequest`] (protocols.md §4b, §5.3).

use serde_json::Value;

use crate::canonical::{
    ChatRequest, ContentPart, FunctionTool, InputItem, ProtocolError, ReasoningEffort,
    ReasoningSummary, Role, ServiceTier, Tool, ToolChoice, ToolOutput,
};

use super::signature::SignatureKey;
use super::wire::{
    BlockWire, MessageWire, RequestWire, SourceWire, SystemWire, ThinkingWire, ToolChoiceWire,
    ToolWire,
};

/// The prefix of the per-request line Claude Code puts in its first `system` block
/// (gateways.md §1): it changes on every request, so it is dropped to keep the prompt prefix
/// cacheable.
pub const BILLING_HEADER_PREFIX: &str = "x-anthropic-billing-header:";

/// A parsed Messages request: the canonical request and what only this protocol needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedMessages {
    /// The canonical request.
    pub request: ChatRequest,
    /// A cache key derived from `metadata.user_id` ([`cache_key_of`]), for when no session
    /// header names the conversation.
    pub user_cache_key: Option<String>,
    /// Thinking blocks dropped because this proxy did not sign them.
    pub dropped_signatures: usize,
}

/// Parses a `POST /v1/messages` (or `/v1/messages/count_tokens`) body; `key` verifies the
/// signatures of thinking blocks sent back ([`super::signature`]).
///
/// Mapping (protocols.md §5.3):
/// - `system` (a string or text blocks, `cache_control` ignored) → `instructions`, blocks joined
///   with a blank line, lines starting with [`BILLING_HEADER_PREFIX`] removed;
///   `role:"system"` messages inside `messages` → developer messages, in place;
/// - `text` → text; `image` (`base64` → a `data:` URL, or `url`) → image; `document`: a PDF
///   (`base64` or `url`) → a file part, a `text` source → text;
/// - `tool_use` → a function call (`input` as JSON text); `tool_result` (string or blocks with
///   text and images, `is_error`) → a function call output, in place;
/// - `thinking` / `redacted_thinking` with a signature this proxy issued → a reasoning item with
///   that `encrypted_content`; any other → dropped; `server_tool_use` and
///   `web_search_tool_result` (the backend searched itself) → dropped;
/// - `tools`: client tools' `input_schema` → `parameters` (top-level `$schema` removed;
///   `cache_control`, `defer_loading`, `strict` not forwarded); a `web_search_*` server tool →
///   the backend's web search; any other server tool (`bash_*`, `text_editor_*`,
///   `code_execution_*`, `tool_search_*`…) has no backend equivalent and is dropped with a
///   warning (a client such as Claude Code must keep working);
/// - `tool_choice`: `auto` / `any` (→ required) / `tool` (→ that function; the web search tool
///   → required) / `none`; `disable_parallel_tool_use` → no parallel calls;
/// - `thinking`: `enabled` → effort by `budget_tokens` (< 4096 low, < 16384 medium, < 32768
///   high, else xhigh); `adaptive` → `output_config.effort` (`low`, `medium`, `high`,
///   `max` → xhigh) or the model's default; `disabled` → low effort, no summary;
///   `output_config.effort` alone sets the effort too;
/// - `speed:"fast"` or `service_tier` `fast`/`priority` → priority tier;
/// - `max_tokens`, `temperature`, `top_p`, `top_k`, `stop_sequences`, `metadata`,
///   `context_management` are accepted and not forwarded (the backend rejects them).
///
/// # Errors
/// [`ProtocolError::InvalidJson`] for a body that is not a Messages request or a block of an
/// unknown type; [`ProtocolError::InvalidRequest`] for an unknown role, an image or document
/// without its data, an unknown `tool_choice` or `thinking` type, a `tool_choice` naming no
/// declared client tool.
pub fn parse_request(body: &[u8], key: &SignatureKey) -> Result<ParsedMessages, ProtocolError> {
    let wire: RequestWire = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    let mut req = ChatRequest {
        model: wire.model,
        stream: wire.stream.unwrap_or(false),
        ..ChatRequest::default()
    };
    req.instructions = match wire.system {
        None => String::new(),
        Some(SystemWire::Text(text)) => strip_billing_header(&text),
        Some(SystemWire::Blocks(blocks)) => {
            let texts: Vec<String> = blocks
                .iter()
                .filter(|b| b.kind == "text")
                .filter_map(|b| b.text.as_deref())
                .map(strip_billing_header)
                .filter(|t| !t.is_empty())
                .collect();
            texts.join("\n\n")
        }
    };
    let mut dropped = 0;
    for (i, msg) in wire.messages.into_iter().enumerate() {
        convert_message(i, msg, key, &mut req.input, &mut dropped)?;
    }
    let mut web_search_name = None;
    if let Some(tools) = wire.tools {
        for tool in tools {
            let Some((tool, web_search)) = convert_tool(tool) else {
                continue;
            };
            if web_search.is_some() {
                web_search_name = web_search;
            }
            req.tools.push(tool);
        }
    }
    if let Some(choice) = wire.tool_choice {
        convert_tool_choice(choice, web_search_name.as_deref(), &mut req)?;
    }
    if let Some(ToolChoice::Function(name)) = &req.tool_choice {
        let declared = req
            .tools
            .iter()
            .filter_map(Tool::as_function)
            .any(|f| &f.name == name);
        if !declared {
            return Err(ProtocolError::InvalidRequest {
                message: format!("tool_choice names {name:?}, which is not a declared client tool")
                    .into(),
                param: Some("tool_choice".into()),
            });
        }
    }
    let effort = wire.output_config.and_then(|c| c.effort);
    if let Some(thinking) = wire.thinking {
        convert_thinking(&thinking, effort.as_deref(), &mut req)?;
    } else if let Some(effort) = effort.as_deref() {
        req.reasoning_effort = Some(effort_of(effort)?);
    }
    req.service_tier = match (wire.speed.as_deref(), wire.service_tier.as_deref()) {
        (Some("fast"), _) => Some(ServiceTier::Priority),
        (_, Some(tier)) => ServiceTier::parse(tier),
        _ => None,
    };
    Ok(ParsedMessages {
        request: req,
        user_cache_key: wire
            .metadata
            .and_then(|m| m.user_id)
            .filter(|u| !u.is_empty())
            .map(|u| cache_key_of(&u)),
        dropped_signatures: dropped,
    })
}

/// A prompt cache key from Claude's `metadata.user_id` (often a JSON text of about 150
/// bytes): `claude-` and the first 32 hex digits of its SHA-256, stable across restarts.
pub fn cache_key_of(user_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, user_id.as_bytes());
    let mut key = String::with_capacity(39);
    key.push_str("claude-");
    for b in &digest.as_ref()[..16] {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// `text` without the lines that start with [`BILLING_HEADER_PREFIX`].
fn strip_billing_header(text: &str) -> String {
    if !text.contains(BILLING_HEADER_PREFIX) {
        return text.to_owned();
    }
    text.lines()
        .filter(|line| !line.trim_start().starts_with(BILLING_HEADER_PREFIX))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// The blocks of `content` (a string is one text block), read one by one so that an unknown
/// block type is reported with its position.
fn blocks_of(content: Value, at: &str) -> Result<Vec<BlockWire>, ProtocolError> {
    match content {
        Value::String(text) => Ok(vec![BlockWire::Text { text }]),
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                serde_json::from_value(item).map_err(|e| ProtocolError::InvalidRequest {
                    message: format!("{at}.{i}: {e}").into(),
                    param: Some(format!("{at}.{i}").into()),
                })
            })
            .collect(),
        _ => Err(ProtocolError::InvalidRequest {
            message: format!("{at}: content must be a string or an array of blocks").into(),
            param: Some(at.to_owned().into()),
        }),
    }
}

fn convert_message(
    index: usize,
    msg: MessageWire,
    key: &SignatureKey,
    input: &mut Vec<InputItem>,
    dropped: &mut usize,
) -> Result<(), ProtocolError> {
    let at = format!("messages.{index}.content");
    let role = match msg.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::Developer,
        other => {
            return Err(ProtocolError::invalid(
                format!("unsupported message role {other:?}: expected user, assistant or system"),
                Some("messages"),
            ))
        }
    };
    let mut parts = Vec::new();
    let flush = |parts: &mut Vec<ContentPart>, input: &mut Vec<InputItem>| {
        if !parts.is_empty() {
            input.push(InputItem::Message {
                role,
                content: std::mem::take(parts),
            });
        }
    };
    for block in blocks_of(msg.content, &at)? {
        match block {
            BlockWire::Text { text } => {
                if !(text.is_empty() && role == Role::Assistant) {
                    parts.push(ContentPart::Text(text));
                }
            }
            BlockWire::Image { source } => parts.push(image_of(source)?),
            BlockWire::Document { source, title } => parts.push(document_of(source, title)?),
            BlockWire::ToolUse {
                id,
                name,
                input: args,
            } => {
                flush(&mut parts, input);
                let arguments = match args {
                    Value::Null => "{}".to_owned(),
                    other => other.to_string(),
                };
                input.push(InputItem::FunctionCall {
                    call_id: id,
                    name,
                    arguments,
                });
            }
            BlockWire::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                flush(&mut parts, input);
                let mut out = Vec::new();
                for block in blocks_of(content.unwrap_or(Value::Null), &at)? {
                    match block {
                        BlockWire::Text { text } => out.push(ContentPart::Text(text)),
                        BlockWire::Image { source } => out.push(image_of(source)?),
                        BlockWire::Document { source, title } => {
                            out.push(document_of(source, title)?);
                        }
                        _ => {
                            return Err(ProtocolError::invalid(
                                "tool_result content may hold text, image and document blocks",
                                Some("messages"),
                            ))
                        }
                    }
                }
                input.push(InputItem::FunctionCallOutput {
                    call_id: tool_use_id,
                    output: ToolOutput {
                        parts: out,
                        is_error: is_error.unwrap_or(false),
                    },
                });
            }
            BlockWire::Thinking { signature, .. } => {
                push_reasoning(signature.as_deref(), key, &mut parts, input, role, dropped);
            }
            BlockWire::RedactedThinking { data } => {
                push_reasoning(Some(&data), key, &mut parts, input, role, dropped);
            }
            BlockWire::ServerToolUse {} | BlockWire::WebSearchToolResult {} => {}
        }
    }
    flush(&mut parts, input);
    Ok(())
}

/// A thinking block sent back: a reasoning item when this proxy signed it, else dropped.
fn push_reasoning(
    signature: Option<&str>,
    key: &SignatureKey,
    parts: &mut Vec<ContentPart>,
    input: &mut Vec<InputItem>,
    role: Role,
    dropped: &mut usize,
) {
    match signature.and_then(|s| key.verify(s)) {
        Some(encrypted) => {
            if !parts.is_empty() {
                input.push(InputItem::Message {
                    role,
                    content: std::mem::take(parts),
                });
            }
            input.push(InputItem::Reasoning {
                id: None,
                summary: Vec::new(),
                encrypted_content: Some(encrypted.to_owned()),
            });
        }
        None => *dropped += 1,
    }
}

fn image_of(source: SourceWire) -> Result<ContentPart, ProtocolError> {
    let url = url_of(source, "image/png", "image")?;
    Ok(ContentPart::Image { url, detail: None })
}

fn document_of(source: SourceWire, title: Option<String>) -> Result<ContentPart, ProtocolError> {
    if source.kind == "text" {
        return Ok(ContentPart::Text(source.data.unwrap_or_default()));
    }
    let url = url_of(source, "application/pdf", "document")?;
    let filename = title.or_else(|| Some("document.pdf".to_owned()));
    Ok(ContentPart::File { url, filename })
}

/// A `base64` source as a `data:` URL, or a `url` source's URL.
fn url_of(source: SourceWire, default_type: &str, what: &str) -> Result<String, ProtocolError> {
    match (source.kind.as_str(), source.data, source.url) {
        ("base64", Some(data), _) if !data.is_empty() => {
            let media_type = source.media_type.as_deref().unwrap_or(default_type);
            Ok(format!("data:{media_type};base64,{data}"))
        }
        ("url", _, Some(url)) if !url.is_empty() => Ok(url),
        (kind, _, _) => Err(ProtocolError::InvalidRequest {
            message: format!(
                "{what} source of type {kind:?} is not supported or has no data: expected base64 (with data) or url"
            )
            .into(),
            param: Some("messages".into()),
        }),
    }
}

/// A tool, and the name of a web search server tool.
/// A tool, and the name of a web search server tool; `None` for another server tool.
fn convert_tool(tool: ToolWire) -> Option<(Tool, Option<String>)> {
    match tool.kind.as_deref() {
        None | Some("custom") => {
            let parameters = tool.input_schema.map(|mut schema| {
                if let Value::Object(obj) = &mut schema {
                    obj.remove("$schema");
                }
                schema
            });
            Some((
                Tool::Function(FunctionTool {
                    name: tool.name,
                    description: tool.description,
                    parameters,
                    strict: None,
                }),
                None,
            ))
        }
        Some(kind) if kind.starts_with("web_search") => Some((Tool::WebSearch, Some(tool.name))),
        Some(kind) => {
            tracing::warn!(
                tool = %tool.name,
                kind,
                "dropping an Anthropic server tool the Codex backend has no equivalent for"
            );
            None
        }
    }
}

fn convert_tool_choice(
    choice: ToolChoiceWire,
    web_search: Option<&str>,
    req: &mut ChatRequest,
) -> Result<(), ProtocolError> {
    req.tool_choice = Some(match (choice.kind.as_str(), choice.name) {
        ("auto", _) => ToolChoice::Auto,
        ("any", _) => ToolChoice::Required,
        ("none", _) => ToolChoice::None,
        ("tool", Some(name)) if Some(name.as_str()) == web_search => ToolChoice::Required,
        ("tool", Some(name)) => ToolChoice::Function(name),
        (kind, _) => {
            return Err(ProtocolError::invalid(
                format!("unsupported tool_choice type {kind:?}: expected auto, any, tool (with name) or none"),
                Some("tool_choice"),
            ))
        }
    });
    if choice.disable_parallel_tool_use == Some(true) {
        req.parallel_tool_calls = Some(false);
    }
    Ok(())
}

fn convert_thinking(
    thinking: &ThinkingWire,
    effort: Option<&str>,
    req: &mut ChatRequest,
) -> Result<(), ProtocolError> {
    match thinking.kind.as_str() {
        "enabled" => {
            req.reasoning_effort = Some(match effort {
                Some(e) => effort_of(e)?,
                None => budget_effort(thinking.budget_tokens.unwrap_or(8192)),
            });
        }
        "adaptive" | "auto" => {
            if let Some(e) = effort {
                req.reasoning_effort = Some(effort_of(e)?);
            }
        }
        "disabled" => {
            req.reasoning_effort = Some(ReasoningEffort::Low);
            req.reasoning_summary = Some(ReasoningSummary::None);
        }
        other => {
            return Err(ProtocolError::invalid(
                format!(
                    "unsupported thinking type {other:?}: expected enabled, adaptive or disabled"
                ),
                Some("thinking"),
            ))
        }
    }
    Ok(())
}

/// Effort for a thinking budget in tokens (module docs of [`parse_request`]).
pub fn budget_effort(budget_tokens: u64) -> ReasoningEffort {
    match budget_tokens {
        0..4096 => ReasoningEffort::Low,
        4096..16384 => ReasoningEffort::Medium,
        16384..32768 => ReasoningEffort::High,
        _ => ReasoningEffort::XHigh,
    }
}

/// `output_config.effort`: `low`, `medium`, `high`, `max` (→ xhigh), or an upstream spelling.
fn effort_of(effort: &str) -> Result<ReasoningEffort, ProtocolError> {
    if effort == "max" {
        return Ok(ReasoningEffort::XHigh);
    }
    ReasoningEffort::parse(effort).ok_or_else(|| {
        ProtocolError::invalid(
            format!("unknown output_config.effort {effort:?}: expected low, medium, high or max"),
            Some("output_config.effort"),
        )
    })
}
