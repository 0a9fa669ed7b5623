//! Chat Completions request body → canonical [`ChatRequest`] (protocols.md §4a, §5.2).

use serde_json::value::RawValue;

use crate::canonical::{
    ChatRequest, ContentPart, FunctionTool, InputItem, ProtocolError, ReasoningEffort, Role,
    ServiceTier, TextFormat, Tool, ToolChoice, ToolOutput, Verbosity,
};

use super::wire::{
    ImageUrlWire, MessageWire, PartWire, RequestWire, ResponseFormatWire, ToolChoiceObjectWire,
    ToolWire,
};

/// A parsed Chat Completions request: the canonical request and what only this protocol's
/// egress needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedChat {
    /// The canonical request.
    pub request: ChatRequest,
    /// The client asked for a final usage chunk (`stream_options.include_usage`, streams only).
    pub include_usage: bool,
}

/// Parses a `POST /v1/chat/completions` body.
///
/// Mapping (protocols.md §5.2):
/// - leading `system` / `developer` messages (before any other message) are joined with a blank
///   line into [`ChatRequest::instructions`]; later ones become `developer` input messages, in
///   place;
/// - `user` content: a string or parts `text` and `image_url` (`https://…` or `data:` URLs);
/// - `assistant`: its text (skipped when empty), then one function call per `tool_calls[]`;
/// - `tool`: a function call output for `tool_call_id` (text parts joined);
/// - `tools[].function` → function tools; `tool_choice` string or `{type:"function",
///   function:{name}}`; `parallel_tool_calls`; `response_format` `json_object` / `json_schema`
///   (`text` = default); `reasoning_effort`; `verbosity`; `service_tier` (`fast`/`priority`,
///   `flex`); `prompt_cache_key`; `stream`; `stream_options.include_usage`.
/// - Sampling and limit fields (`temperature`, `max_tokens`, `stop`, …) are accepted and
///   dropped: the upstream rejects them.
///
/// # Errors
/// [`ProtocolError::InvalidJson`] for a body that is not a Chat request;
/// [`ProtocolError::InvalidRequest`] for `n` > 1, an unknown role, a content part or tool type
/// other than the ones above, a `tool` message without `tool_call_id`, or an unknown
/// `reasoning_effort` / `tool_choice`.
pub fn parse_request(body: &[u8]) -> Result<ParsedChat, ProtocolError> {
    let wire: RequestWire<'_> = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    if wire.n.is_some_and(|n| n > 1) {
        return Err(ProtocolError::invalid(
            "n > 1 is not supported: the upstream returns one choice",
            Some("n"),
        ));
    }
    let mut req = ChatRequest {
        model: wire.model.into_owned(),
        stream: wire.stream.unwrap_or(false),
        parallel_tool_calls: wire.parallel_tool_calls,
        prompt_cache_key: wire.prompt_cache_key.map(|k| k.into_owned()),
        service_tier: wire.service_tier.as_deref().and_then(ServiceTier::parse),
        ..ChatRequest::default()
    };
    let include_usage = req.stream
        && wire
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false);

    let mut leading = true;
    for msg in &wire.messages {
        let role = &*msg.role;
        if leading && matches!(role, "system" | "developer") {
            let text = text_of(msg.content)?;
            if !text.is_empty() {
                if !req.instructions.is_empty() {
                    req.instructions.push_str("\n\n");
                }
                req.instructions.push_str(&text);
            }
            continue;
        }
        leading = false;
        convert_message(msg, &mut req.input)?;
    }

    if let Some(tools) = wire.tools {
        req.tools = tools
            .into_iter()
            .map(convert_tool)
            .collect::<Result<_, _>>()?;
    }
    if let Some(choice) = wire.tool_choice {
        req.tool_choice = Some(convert_tool_choice(choice)?);
    }
    if let Some(format) = wire.response_format {
        req.text_format = convert_format(format)?;
    }
    if let Some(effort) = wire.reasoning_effort {
        req.reasoning_effort = Some(ReasoningEffort::parse(&effort).ok_or_else(|| {
            ProtocolError::invalid(
                format!("unknown reasoning_effort {effort:?}: expected none, minimal, low, medium, high or xhigh"),
                Some("reasoning_effort"),
            )
        })?);
    }
    req.verbosity = match wire.verbosity.as_deref() {
        Some("low") => Some(Verbosity::Low),
        Some("medium") => Some(Verbosity::Medium),
        Some("high") => Some(Verbosity::High),
        _ => None,
    };
    Ok(ParsedChat {
        request: req,
        include_usage,
    })
}

fn convert_message(msg: &MessageWire<'_>, input: &mut Vec<InputItem>) -> Result<(), ProtocolError> {
    match &*msg.role {
        "system" | "developer" => {
            let text = text_of(msg.content)?;
            input.push(InputItem::Message {
                role: Role::Developer,
                content: vec![ContentPart::Text(text)],
            });
        }
        "user" => {
            let content = parts_of(msg.content)?;
            input.push(InputItem::Message {
                role: Role::User,
                content,
            });
        }
        "assistant" => {
            let text = text_of(msg.content)?;
            // An empty assistant message next to tool calls would break call pairing
            // upstream (protocols.md §5.2, CPA #2132).
            if !text.is_empty() {
                input.push(InputItem::Message {
                    role: Role::Assistant,
                    content: vec![ContentPart::Text(text)],
                });
            }
            for call in msg.tool_calls.iter().flatten() {
                input.push(InputItem::FunctionCall {
                    call_id: call.id.clone().into_owned(),
                    name: call.function.name.clone().into_owned(),
                    arguments: call.function.arguments.clone().into_owned(),
                });
            }
        }
        "tool" => {
            let call_id = msg.tool_call_id.as_deref().ok_or_else(|| {
                ProtocolError::invalid("a tool message needs tool_call_id", Some("tool_call_id"))
            })?;
            input.push(InputItem::FunctionCallOutput {
                call_id: call_id.to_owned(),
                output: ToolOutput::text(text_of(msg.content)?),
            });
        }
        other => {
            return Err(ProtocolError::invalid(
                format!("unsupported message role {other:?}"),
                Some("messages"),
            ))
        }
    }
    Ok(())
}

/// Content as parts: a string is one text part, `null` none.
fn parts_of(content: Option<&RawValue>) -> Result<Vec<ContentPart>, ProtocolError> {
    let Some(raw) = content else {
        return Ok(Vec::new());
    };
    match raw.get().as_bytes().first() {
        Some(b'"') => Ok(vec![ContentPart::Text(
            serde_json::from_str(raw.get()).map_err(ProtocolError::InvalidJson)?,
        )]),
        Some(b'[') => {
            let parts: Vec<PartWire<'_>> =
                serde_json::from_str(raw.get()).map_err(ProtocolError::InvalidJson)?;
            parts.into_iter().map(convert_part).collect()
        }
        Some(b'n') => Ok(Vec::new()),
        _ => Err(ProtocolError::invalid(
            "message content must be a string or an array of parts",
            Some("messages"),
        )),
    }
}

fn convert_part(part: PartWire<'_>) -> Result<ContentPart, ProtocolError> {
    match (&*part.kind, part.text, part.image_url) {
        ("text" | "input_text", Some(text), _) => Ok(ContentPart::Text(text)),
        ("image_url", _, Some(ImageUrlWire::Object { url, detail })) => {
            Ok(ContentPart::Image { url, detail })
        }
        ("image_url", _, Some(ImageUrlWire::Url(url))) => {
            Ok(ContentPart::Image { url, detail: None })
        }
        (kind, _, _) => Err(ProtocolError::invalid(
            format!("unsupported content part type {kind:?}"),
            Some("messages"),
        )),
    }
}

/// Content as plain text: text parts joined (images are not allowed here).
fn text_of(content: Option<&RawValue>) -> Result<String, ProtocolError> {
    let mut text = String::new();
    for part in parts_of(content)? {
        match part {
            ContentPart::Text(t) => text.push_str(&t),
            ContentPart::Image { .. } | ContentPart::File { .. } => {
                return Err(ProtocolError::invalid(
                    "images and files are only supported in user messages",
                    Some("messages"),
                ))
            }
        }
    }
    Ok(text)
}

fn convert_tool(tool: ToolWire<'_>) -> Result<Tool, ProtocolError> {
    match (&*tool.kind, tool.function) {
        ("function", Some(f)) => Ok(Tool::Function(FunctionTool {
            name: f.name,
            description: f.description,
            parameters: f.parameters,
            strict: f.strict,
        })),
        (kind, _) => Err(ProtocolError::invalid(
            format!("unsupported tool type {kind:?}: only function tools are supported"),
            Some("tools"),
        )),
    }
}

fn convert_tool_choice(raw: &RawValue) -> Result<ToolChoice, ProtocolError> {
    let bad = || ProtocolError::invalid("unsupported tool_choice", Some("tool_choice"));
    if raw.get().starts_with('"') {
        let mode: String = serde_json::from_str(raw.get()).map_err(ProtocolError::InvalidJson)?;
        return match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(bad()),
        };
    }
    let obj: ToolChoiceObjectWire<'_> =
        serde_json::from_str(raw.get()).map_err(ProtocolError::InvalidJson)?;
    match (&*obj.kind, obj.function) {
        ("function", Some(f)) => Ok(ToolChoice::Function(f.name.into_owned())),
        _ => Err(bad()),
    }
}

fn convert_format(format: ResponseFormatWire<'_>) -> Result<Option<TextFormat>, ProtocolError> {
    match (&*format.kind, format.json_schema) {
        ("text", _) => Ok(None),
        ("json_object", _) => Ok(Some(TextFormat::JsonObject)),
        ("json_schema", Some(s)) => Ok(Some(TextFormat::JsonSchema {
            name: s.name,
            description: s.description,
            schema: s
                .schema
                .unwrap_or_else(|| serde_json::json!({"type": "object"})),
            strict: s.strict,
        })),
        (kind, _) => Err(ProtocolError::invalid(
            format!("unsupported response_format {kind:?}"),
            Some("response_format"),
        )),
    }
}
