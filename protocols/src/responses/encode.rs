//! Canonical [`ChatRequest`] → Codex backend request body.

use std::borrow::Cow;

use crate::canonical::{
    ChatRequest, ContentPart, InputItem, ProtocolError, ReasoningEffort, ReasoningSummary, Role,
    TextFormat, Tool, ToolChoice, ToolOutput, Verbosity,
};

use super::names::{shorten_id, ToolNameMap, MAX_ID_LEN};
use super::wire::{
    ContentOut, FormatOut, InputItemOut, OutputOut, ReasoningOut, RequestBody, SummaryOut, TextOut,
    ToolChoiceOut, ToolOut,
};

/// Prefix of a failed tool's text output: the upstream has no error flag for tool results.
pub const TOOL_ERROR_PREFIX: &str = "Error: ";

/// `include` value that makes the backend return `reasoning.encrypted_content`, needed to
/// replay reasoning statelessly (protocols.md §1.3 `include`).
pub const INCLUDE_ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// A request body ready for `POST /backend-api/codex/responses`, and what is needed to read
/// the answer.
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    /// Compact JSON body.
    pub body: Vec<u8>,
    /// Tool names shortened to 64 bytes; give it to [`super::ResponsesIngress::new`].
    pub tool_names: ToolNameMap,
}

/// Encodes `req` as a Codex backend body (protocols.md §1.3, §1.6).
///
/// Always written: `model`, `instructions` (the empty string when the request has none; the
/// backend rejects a missing field with 400 `Instructions are required`; CPA sends `""`),
/// `input`, `tools`, `tool_choice` (`auto` by default), `parallel_tool_calls` (false without
/// tools), `reasoning` (`{"summary":"auto"}` when nothing was asked, like Codex CLI; no summary
/// for effort `none`), `store:false`, `stream:true`, and `include:["reasoning.encrypted_content"]`
/// unless reasoning is off. Never written: `max_output_tokens`, `temperature`, `top_p`, `stop`,
/// `n`, `previous_response_id`… (the canonical model has no such fields).
///
/// Tool names and call ids longer than 64 bytes are shortened ([`ToolNameMap`],
/// [`shorten_id`]); reasoning items whose id is longer are dropped (as CPA does).
///
/// # Errors
/// [`ProtocolError::InvalidRequest`] when `model` is empty; [`ProtocolError::Serialize`] never
/// in practice.
pub fn encode_request(req: &ChatRequest) -> Result<EncodedRequest, ProtocolError> {
    if req.model.is_empty() {
        return Err(ProtocolError::invalid("model is required", Some("model")));
    }
    let mut names = ToolNameMap::build(
        req.tools
            .iter()
            .filter_map(Tool::as_function)
            .map(|t| t.name.as_str()),
    );

    let tools: Vec<ToolOut<'_>> = req
        .tools
        .iter()
        .map(|tool| match tool {
            Tool::Function(t) => ToolOut {
                kind: "function",
                name: Some(names.shorten(&t.name)),
                description: t.description.as_deref(),
                parameters: t.parameters.as_ref(),
                strict: t.strict,
            },
            Tool::WebSearch | Tool::ImageGeneration => ToolOut {
                kind: if matches!(tool, Tool::WebSearch) {
                    "web_search"
                } else {
                    "image_generation"
                },
                name: None,
                description: None,
                parameters: None,
                strict: None,
            },
        })
        .collect();

    let mut input = Vec::with_capacity(req.input.len());
    for item in &req.input {
        if let Some(out) = encode_item(item, &mut names) {
            input.push(out);
        }
    }

    let tool_choice = match &req.tool_choice {
        None | Some(ToolChoice::Auto) => ToolChoiceOut::Mode("auto"),
        Some(ToolChoice::None) => ToolChoiceOut::Mode("none"),
        Some(ToolChoice::Required) => ToolChoiceOut::Mode("required"),
        Some(ToolChoice::Function(name)) => ToolChoiceOut::Function {
            kind: "function",
            name: Cow::Owned(names.shorten(name)),
        },
    };

    let reasoning_off = req.reasoning_effort == Some(ReasoningEffort::None);
    let summary = match (req.reasoning_summary, reasoning_off) {
        (_, true) | (Some(ReasoningSummary::None), _) => None,
        (None | Some(ReasoningSummary::Auto), false) => Some("auto"),
        (Some(ReasoningSummary::Concise), false) => Some("concise"),
        (Some(ReasoningSummary::Detailed), false) => Some("detailed"),
    };
    let reasoning = ReasoningOut {
        effort: req.reasoning_effort.map(ReasoningEffort::as_str),
        summary,
    };

    let format = req.text_format.as_ref().map(|f| match f {
        TextFormat::JsonObject => FormatOut::JsonObject,
        TextFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => FormatOut::JsonSchema {
            name,
            description: description.as_deref(),
            schema,
            strict: *strict,
        },
    });
    let verbosity = req.verbosity.map(|v| match v {
        Verbosity::Low => "low",
        Verbosity::Medium => "medium",
        Verbosity::High => "high",
    });
    let text = (format.is_some() || verbosity.is_some()).then_some(TextOut { verbosity, format });

    let body = RequestBody {
        model: &req.model,
        instructions: &req.instructions,
        input,
        parallel_tool_calls: !tools.is_empty() && req.parallel_tool_calls.unwrap_or(true),
        tools,
        tool_choice,
        reasoning,
        store: false,
        stream: true,
        include: if reasoning_off {
            &[]
        } else {
            &[INCLUDE_ENCRYPTED_REASONING]
        },
        service_tier: req.service_tier.map(|t| t.as_str()),
        prompt_cache_key: req.prompt_cache_key.as_deref(),
        text,
    };
    let body = serde_json::to_vec(&body).map_err(ProtocolError::Serialize)?;
    Ok(EncodedRequest {
        body,
        tool_names: names,
    })
}

fn encode_item<'a>(item: &'a InputItem, names: &mut ToolNameMap) -> Option<InputItemOut<'a>> {
    Some(match item {
        InputItem::Message { role, content } => {
            let content = content
                .iter()
                .map(|part| match part {
                    ContentPart::Text(text) if *role == Role::Assistant => {
                        ContentOut::OutputText { text }
                    }
                    other => content_out(other),
                })
                .collect();
            InputItemOut::Message {
                role: match role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::Developer => "developer",
                },
                content,
            }
        }
        InputItem::FunctionCall {
            call_id,
            name,
            arguments,
        } => InputItemOut::FunctionCall {
            call_id: shorten_id(call_id),
            name: names.shorten(name),
            arguments,
        },
        InputItem::FunctionCallOutput { call_id, output } => InputItemOut::FunctionCallOutput {
            call_id: shorten_id(call_id),
            output: output_out(output),
        },
        InputItem::Reasoning {
            id,
            summary,
            encrypted_content,
        } => {
            if id.as_ref().is_some_and(|id| id.len() > MAX_ID_LEN) {
                return None;
            }
            InputItemOut::Reasoning {
                id: id.as_deref(),
                summary: summary
                    .iter()
                    .map(|text| SummaryOut {
                        kind: "summary_text",
                        text,
                    })
                    .collect(),
                content: None,
                encrypted_content: encrypted_content.as_deref(),
            }
        }
    })
}

/// One input part (user and developer messages, tool results).
fn content_out(part: &ContentPart) -> ContentOut<'_> {
    match part {
        ContentPart::Text(text) => ContentOut::InputText { text },
        ContentPart::Image { url, detail } => ContentOut::InputImage {
            image_url: url,
            detail: detail.as_deref(),
        },
        ContentPart::File { url, filename } => {
            let data = url.starts_with("data:");
            ContentOut::InputFile {
                file_data: data.then_some(url.as_str()),
                file_url: (!data).then_some(url.as_str()),
                filename: filename.as_deref(),
            }
        }
    }
}

/// A tool result: a plain string when it is text only (what Codex sends), content items
/// otherwise. A failed tool's text starts with [`TOOL_ERROR_PREFIX`] unless it already says so.
fn output_out(output: &ToolOutput) -> OutputOut<'_> {
    let marked = |text: &str| -> bool { !output.is_error || text.starts_with(TOOL_ERROR_PREFIX) };
    match output.parts.as_slice() {
        [] if output.is_error => OutputOut::Text(Cow::Borrowed("Error")),
        [] => OutputOut::Text(Cow::Borrowed("")),
        [ContentPart::Text(text)] if marked(text) => OutputOut::Text(Cow::Borrowed(text)),
        [ContentPart::Text(text)] => {
            OutputOut::Text(Cow::Owned(format!("{TOOL_ERROR_PREFIX}{text}")))
        }
        parts => {
            let mut items: Vec<ContentOut<'_>> = Vec::with_capacity(parts.len() + 1);
            if output.is_error {
                items.push(ContentOut::InputText {
                    text: TOOL_ERROR_PREFIX.trim_end(),
                });
            }
            items.extend(parts.iter().map(content_out));
            OutputOut::Parts(items)
        }
    }
}
