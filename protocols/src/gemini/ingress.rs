//! Gemini `generateContent` request body → canonical [`ChatRequest`] (protocols.md §4c, §5.4).

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use crate::canonical::{
    ChatRequest, ContentPart, FunctionTool, InputItem, ProtocolError, ReasoningEffort,
    ReasoningSummary, Role, TextFormat, Tool, ToolChoice, ToolOutput,
};

use super::schema::to_json_schema;
use super::signature;
use super::wire::{ContentWire, GenerationConfigWire, PartWire, RequestWire, ToolWire};

/// Name of the structured-output format sent upstream for `responseSchema`.
pub const SCHEMA_NAME: &str = "gemini_schema";

/// Parses a `models/{model}:generateContent` / `:streamGenerateContent` body for `model`
/// (the model comes from the path; `stream` from the method).
///
/// Mapping (protocols.md §5.4):
/// - `systemInstruction.parts[].text`, joined with a blank line → instructions;
/// - `contents[]` with role `user` (or none) / `model`: `text` parts → messages; `inlineData`
///   → an image (`image/*`) or a file, as a `data:` URL; `fileData` → an image or file URL;
///   `functionCall` → a function call, `functionResponse` → its output (the `response` object
///   as JSON text). Gemini clients send no call ids: a call without `id` gets `call_fc<n>`, and
///   a response without `id` takes the oldest unanswered call of the same name (first in,
///   first out);
/// - model `thought` parts and a `thoughtSignature` (the backend's encrypted reasoning, which
///   the egress writes on function calls, [`super::signature`]) → one reasoning item replayed
///   before the turn (client-made sentinel signatures are ignored);
///   thought text without a signature cannot be replayed and is dropped;
/// - `tools[].functionDeclarations` (`parametersJsonSchema`, or `parameters` rewritten from
///   OpenAPI types, [`super::schema`]) → function tools; `googleSearch` /
///   `googleSearchRetrieval` → the backend's web search;
/// - `toolConfig.functionCallingConfig.mode`: `AUTO` / `VALIDATED` → auto, `NONE` → none,
///   `ANY` → required (with `allowedFunctionNames`: only those tools; one name → that tool);
/// - `generationConfig.responseMimeType: "application/json"` with `responseJsonSchema` or
///   `responseSchema` → a JSON schema format named [`SCHEMA_NAME`], without a schema → a JSON
///   object; `thinkingConfig.thinkingBudget` → effort (0 `none`, ≤512 `minimal`, ≤1024 `low`,
///   ≤8192 `medium`, ≤24576 `high`, more `xhigh`, -1 the model's default) or `thinkingLevel`
///   (`MINIMAL`…`HIGH`); without `includeThoughts: true` no reasoning summary is asked for
///   (Gemini only returns thoughts when asked);
/// - sampling fields are accepted and dropped.
///
/// # Errors
/// [`ProtocolError::InvalidJson`] for a body that is not a Gemini request;
/// [`ProtocolError::InvalidRequest`] for a role other than `user` / `model`, a part with
/// nothing the proxy can send (`executableCode`, an empty part), a `functionResponse` with no
/// earlier call of its name, `codeExecution` / `urlContext` tools, an unknown
/// `functionCallingConfig.mode` or `thinkingLevel`, or `candidateCount` > 1.
pub fn parse_request(body: &[u8], model: &str) -> Result<ChatRequest, ProtocolError> {
    let wire: RequestWire = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    convert(wire, model)
}

/// Parses a `models/{model}:countTokens` body: `{"contents":[…]}` or
/// `{"generateContentRequest":{…}}`, with the same mapping as [`parse_request`].
///
/// # Errors
/// As [`parse_request`].
pub fn parse_count_tokens(body: &[u8], model: &str) -> Result<ChatRequest, ProtocolError> {
    let mut wire: RequestWire = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    if let Some(inner) = wire.generate_content_request.take() {
        if wire.contents.is_empty() {
            wire = *inner;
        }
    }
    convert(wire, model)
}

fn convert(wire: RequestWire, model: &str) -> Result<ChatRequest, ProtocolError> {
    let mut req = ChatRequest {
        model: model.to_owned(),
        ..ChatRequest::default()
    };
    if let Some(system) = wire.system_instruction {
        let texts: Vec<String> = system
            .parts
            .into_iter()
            .filter_map(|p| p.text)
            .filter(|t| !t.is_empty())
            .collect();
        req.instructions = texts.join("\n\n");
    }
    let mut calls = CallIds::default();
    for content in wire.contents {
        convert_content(content, &mut calls, &mut req.input)?;
    }
    for tool in wire.tools {
        convert_tool(tool, &mut req.tools)?;
    }
    if let Some(mode) = wire.tool_config.and_then(|c| c.function_calling_config) {
        apply_tool_mode(mode.mode.as_deref(), mode.allowed_function_names, &mut req)?;
    }
    if let Some(config) = wire.generation_config {
        apply_generation_config(config, &mut req)?;
    } else {
        req.reasoning_summary = Some(ReasoningSummary::None);
    }
    Ok(req)
}

/// Call ids of the conversation's function calls, by name, oldest first.
#[derive(Default)]
struct CallIds {
    next: u32,
    pending: HashMap<String, VecDeque<String>>,
}

impl CallIds {
    fn call(&mut self, name: &str, id: Option<String>) -> String {
        let id = id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
            let id = format!("call_fc{}", self.next);
            self.next += 1;
            id
        });
        self.pending
            .entry(name.to_owned())
            .or_default()
            .push_back(id.clone());
        id
    }

    fn response(&mut self, name: &str, id: Option<String>) -> Option<String> {
        let queue = self.pending.get_mut(name);
        match (id.filter(|i| !i.is_empty()), queue) {
            (Some(id), Some(queue)) => {
                queue.retain(|pending| *pending != id);
                Some(id)
            }
            (Some(id), None) => Some(id),
            (None, Some(queue)) => queue.pop_front(),
            (None, None) => None,
        }
    }
}

fn convert_content(
    content: ContentWire,
    calls: &mut CallIds,
    input: &mut Vec<InputItem>,
) -> Result<(), ProtocolError> {
    let role = match content.role.as_deref() {
        None | Some("" | "user" | "function") => Role::User,
        Some("model") => Role::Assistant,
        Some(other) => {
            return Err(ProtocolError::invalid(
                format!("unsupported role {other:?}: expected \"user\" or \"model\""),
                Some("contents.role"),
            ))
        }
    };
    if role == Role::Assistant {
        replay_reasoning(&content.parts, input);
    }
    let mut message: Vec<ContentPart> = Vec::new();
    let flush = |message: &mut Vec<ContentPart>, input: &mut Vec<InputItem>| {
        if !message.is_empty() {
            input.push(InputItem::Message {
                role,
                content: std::mem::take(message),
            });
        }
    };
    for part in content.parts {
        if part.thought == Some(true) {
            continue;
        }
        if let Some(call) = part.function_call {
            flush(&mut message, input);
            let arguments = match call.args {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(args) => args.to_string(),
            };
            let call_id = calls.call(&call.name, call.id);
            input.push(InputItem::FunctionCall {
                call_id,
                name: call.name,
                arguments,
            });
        } else if let Some(response) = part.function_response {
            flush(&mut message, input);
            let call_id = calls.response(&response.name, response.id).ok_or_else(|| {
                ProtocolError::invalid(
                    format!(
                        "functionResponse {:?} answers no earlier functionCall of that name",
                        response.name
                    ),
                    Some("contents.parts.functionResponse"),
                )
            })?;
            let output = match response.response {
                Some(Value::String(s)) => s,
                Some(v) => v.to_string(),
                None => "{}".to_owned(),
            };
            input.push(InputItem::FunctionCallOutput {
                call_id,
                output: ToolOutput::text(output),
            });
        } else if let Some(part) = content_part(part)? {
            message.push(part);
        }
    }
    flush(&mut message, input);
    Ok(())
}

/// A model turn's thought text and signature → one reasoning item, when there is a signature.
fn replay_reasoning(parts: &[PartWire], input: &mut Vec<InputItem>) {
    let Some(encrypted_content) = parts
        .iter()
        .filter_map(|p| p.thought_signature.as_deref())
        .find_map(signature::decode)
    else {
        return;
    };
    let summary = parts
        .iter()
        .filter(|p| p.thought == Some(true))
        .filter_map(|p| p.text.clone())
        .filter(|t| !t.is_empty())
        .collect();
    input.push(InputItem::Reasoning {
        id: None,
        summary,
        encrypted_content: Some(encrypted_content),
    });
}

/// A text, inline-data or file-data part; `None` for an empty text or a signature-only part.
fn content_part(part: PartWire) -> Result<Option<ContentPart>, ProtocolError> {
    if let Some(text) = part.text {
        return Ok((!text.is_empty()).then_some(ContentPart::Text(text)));
    }
    if let Some(blob) = part.inline_data {
        let url = format!("data:{};base64,{}", blob.mime_type, blob.data);
        return Ok(Some(media(&blob.mime_type, url)));
    }
    if let Some(file) = part.file_data {
        let mime = file.mime_type.unwrap_or_default();
        return Ok(Some(media(&mime, file.file_uri)));
    }
    if part.executable_code.is_some() || part.code_execution_result.is_some() {
        return Err(ProtocolError::invalid(
            "executableCode and codeExecutionResult parts are not supported",
            Some("contents.parts"),
        ));
    }
    if part.thought_signature.is_some() {
        return Ok(None);
    }
    Err(ProtocolError::invalid(
        "a part must hold text, inlineData, fileData, functionCall or functionResponse",
        Some("contents.parts"),
    ))
}

fn media(mime: &str, url: String) -> ContentPart {
    if mime.starts_with("image/") {
        ContentPart::Image { url, detail: None }
    } else {
        ContentPart::File {
            url,
            filename: None,
        }
    }
}

fn convert_tool(tool: ToolWire, tools: &mut Vec<Tool>) -> Result<(), ProtocolError> {
    for decl in tool.function_declarations.into_iter().flatten() {
        let parameters = decl
            .parameters_json_schema
            .or(decl.parameters.map(to_json_schema));
        tools.push(Tool::Function(FunctionTool {
            name: decl.name,
            description: decl.description,
            parameters,
            strict: None,
        }));
    }
    if (tool.google_search.is_some() || tool.google_search_retrieval.is_some())
        && !tools.contains(&Tool::WebSearch)
    {
        tools.push(Tool::WebSearch);
    }
    if tool.code_execution.is_some() || tool.url_context.is_some() {
        return Err(ProtocolError::invalid(
            "the codeExecution and urlContext tools are not supported: use functionDeclarations or googleSearch",
            Some("tools"),
        ));
    }
    Ok(())
}

fn apply_tool_mode(
    mode: Option<&str>,
    allowed: Option<Vec<String>>,
    req: &mut ChatRequest,
) -> Result<(), ProtocolError> {
    req.tool_choice = match mode.map(str::to_ascii_uppercase).as_deref() {
        None | Some("" | "AUTO" | "MODE_UNSPECIFIED" | "VALIDATED") => None,
        Some("NONE") => Some(ToolChoice::None),
        Some("ANY") => {
            let allowed = allowed.unwrap_or_default();
            if allowed.is_empty() {
                Some(ToolChoice::Required)
            } else {
                req.tools.retain(|t| match t {
                    Tool::Function(f) => allowed.contains(&f.name),
                    _ => true,
                });
                match allowed.as_slice() {
                    [one] => Some(ToolChoice::Function(one.clone())),
                    _ => Some(ToolChoice::Required),
                }
            }
        }
        Some(other) => {
            return Err(ProtocolError::invalid(
                format!(
                    "unsupported functionCallingConfig.mode {other:?}: expected AUTO, ANY or NONE"
                ),
                Some("toolConfig.functionCallingConfig.mode"),
            ))
        }
    };
    Ok(())
}

fn apply_generation_config(
    config: GenerationConfigWire,
    req: &mut ChatRequest,
) -> Result<(), ProtocolError> {
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(ProtocolError::invalid(
            "candidateCount > 1 is not supported: the upstream returns one candidate",
            Some("generationConfig.candidateCount"),
        ));
    }
    if config
        .response_mime_type
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("application/json"))
    {
        let schema = config
            .response_json_schema
            .or(config.response_schema.map(to_json_schema));
        req.text_format = Some(match schema {
            Some(schema) => TextFormat::JsonSchema {
                name: SCHEMA_NAME.into(),
                description: None,
                schema,
                strict: None,
            },
            None => TextFormat::JsonObject,
        });
    }
    let thinking = config.thinking_config.unwrap_or_default();
    if thinking.include_thoughts != Some(true) {
        req.reasoning_summary = Some(ReasoningSummary::None);
    }
    if let Some(level) = thinking.thinking_level {
        req.reasoning_effort = Some(match level.to_ascii_uppercase().as_str() {
            "MINIMAL" => ReasoningEffort::Minimal,
            "LOW" => ReasoningEffort::Low,
            "MEDIUM" => ReasoningEffort::Medium,
            "HIGH" => ReasoningEffort::High,
            _ => {
                return Err(ProtocolError::invalid(
                    format!(
                    "unsupported thinkingLevel {level:?}: expected MINIMAL, LOW, MEDIUM or HIGH"
                ),
                    Some("generationConfig.thinkingConfig.thinkingLevel"),
                ))
            }
        });
    } else if let Some(budget) = thinking.thinking_budget {
        req.reasoning_effort = effort_of_budget(budget);
    }
    Ok(())
}

/// `thinkingBudget` tokens → effort (CPA's thresholds, protocols.md §5.3); -1 (dynamic) and
/// other negative values → the model's default.
pub fn effort_of_budget(budget: i64) -> Option<ReasoningEffort> {
    Some(match budget {
        ..0 => return None,
        0 => ReasoningEffort::None,
        1..=512 => ReasoningEffort::Minimal,
        513..=1024 => ReasoningEffort::Low,
        1025..=8192 => ReasoningEffort::Medium,
        8193..=24576 => ReasoningEffort::High,
        _ => ReasoningEffort::XHigh,
    })
}
