//! Tests of the Gemini protocol folder: request mapping and the egress rules the goldens do
//! not isolate.

use bytes::BytesMut;
use serde_json::json;

use super::*;
use crate::canonical::{
    ApiError, ChatEvent, ContentPart, FailureKind, InputItem, JsonText, ReasoningEffort,
    ReasoningSummary, Role, TextFormat, Tool, ToolChoice,
};
use crate::translate::Egress;

fn parse(body: serde_json::Value) -> crate::ChatRequest {
    parse_request(body.to_string().as_bytes(), "gpt-5.4").expect("valid request")
}

fn parse_err(body: serde_json::Value) -> String {
    parse_request(body.to_string().as_bytes(), "gpt-5.4")
        .expect_err("invalid request")
        .to_string()
}

#[test]
fn contents_map_to_messages_calls_and_outputs_with_ids_by_name() {
    let req = parse(json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "look"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/a.pdf"}}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"t": 21}}},
                {"functionResponse": {"name": "get_weather", "response": {"t": 3}}}]}
        ]
    }));
    assert_eq!(req.model, "gpt-5.4");
    assert_eq!(req.instructions, "Be brief.\n\nBe kind.");
    assert_eq!(
        req.input[0],
        InputItem::Message {
            role: Role::User,
            content: vec![
                ContentPart::Text("look".into()),
                ContentPart::Image {
                    url: "data:image/png;base64,iVBORw0KGgo=".into(),
                    detail: None
                },
                ContentPart::File {
                    url: "https://x/a.pdf".into(),
                    filename: None
                },
            ]
        }
    );
    let ids: Vec<(&str, &str)> = req.input[1..]
        .iter()
        .map(|item| match item {
            InputItem::FunctionCall {
                call_id, arguments, ..
            } => (call_id.as_str(), arguments.as_str()),
            InputItem::FunctionCallOutput { call_id, output } => (
                call_id.as_str(),
                if output.joined_text() == r#"{"t":21}"# {
                    "21"
                } else {
                    "3"
                },
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("call_fc0", r#"{"city":"Paris"}"#),
            ("call_fc1", r#"{"city":"Oslo"}"#),
            ("call_fc0", "21"),
            ("call_fc1", "3"),
        ]
    );
    // No thinking asked for: no summary requested upstream.
    assert_eq!(req.reasoning_summary, Some(ReasoningSummary::None));
}

#[test]
fn signed_model_turns_replay_their_reasoning_before_the_calls() {
    let signature = signature::encode(&JsonText::new("gAAAAenc"));
    let req = parse(json!({"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [
            {"text": "**Plan**", "thought": true},
            {"functionCall": {"id": "call_1", "name": "f", "args": {}}, "thoughtSignature": signature.decode()}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "f"}, "thoughtSignature": "skip_thought_signature_validator"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]}
    ]}));
    assert_eq!(
        req.input[1],
        InputItem::Reasoning {
            id: None,
            summary: vec!["**Plan**".into()],
            encrypted_content: Some("gAAAAenc".into())
        }
    );
    assert!(
        matches!(&req.input[2], InputItem::FunctionCall { call_id, .. } if call_id == "call_1")
    );
    assert!(
        matches!(&req.input[3], InputItem::FunctionCallOutput { call_id, .. } if call_id == "call_1")
    );
    // A client-made sentinel is no reasoning to replay.
    assert!(matches!(&req.input[4], InputItem::FunctionCall { .. }));
    assert_eq!(req.input.len(), 6);
}

#[test]
fn tools_tool_config_and_generation_config() {
    let req = parse(json!({
        "contents": [{"parts": [{"text": "x"}]}],
        "tools": [
            {"functionDeclarations": [
                {"name": "a", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}},
                {"name": "b", "parametersJsonSchema": {"type": "object"}}]},
            {"googleSearch": {}}
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a"]}},
        "generationConfig": {
            "temperature": 0.2, "maxOutputTokens": 10,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}},
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}
        }
    }));
    assert_eq!(req.tool_choice, Some(ToolChoice::Function("a".into())));
    assert_eq!(req.tools.len(), 2, "b is not allowed: {:?}", req.tools);
    let Tool::Function(a) = &req.tools[0] else {
        panic!("function tool")
    };
    assert_eq!(
        a.parameters,
        Some(json!({"type": "object", "properties": {"q": {"type": "string"}}}))
    );
    assert_eq!(req.tools[1], Tool::WebSearch);
    assert_eq!(
        req.text_format,
        Some(TextFormat::JsonSchema {
            name: SCHEMA_NAME.into(),
            description: None,
            schema: json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            strict: None
        })
    );
    assert_eq!(req.reasoning_effort, Some(ReasoningEffort::Low));
    assert_eq!(req.reasoning_summary, None);

    let req = parse(
        json!({"contents": [], "toolConfig": {"functionCallingConfig": {"mode": "NONE"}},
        "generationConfig": {"responseMimeType": "application/json", "thinkingConfig": {"thinkingLevel": "high"}}}),
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::None));
    assert_eq!(req.text_format, Some(TextFormat::JsonObject));
    assert_eq!(req.reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!(effort_of_budget(-1), None);
    assert_eq!(effort_of_budget(0), Some(ReasoningEffort::None));
    assert_eq!(effort_of_budget(30_000), Some(ReasoningEffort::XHigh));
}

#[test]
fn unsupported_requests_are_invalid_arguments() {
    assert!(parse_err(json!({"contents": [{"role": "system", "parts": []}]})).contains("role"));
    assert!(parse_err(json!({"contents": [{"role": "user", "parts": [
        {"functionResponse": {"name": "f", "response": {}}}]}]}))
    .contains("no earlier functionCall"));
    assert!(
        parse_err(json!({"contents": [], "tools": [{"codeExecution": {}}]}))
            .contains("codeExecution")
    );
    assert!(
        parse_err(json!({"contents": [], "generationConfig": {"candidateCount": 2}}))
            .contains("candidateCount")
    );
    assert!(parse_err(json!({"contents": [{"parts": [{}]}]})).contains("part must hold"));
    let err = parse_request(b"{\"contents\": 1}", "m").expect_err("not a request");
    assert_eq!(ApiError::from(&err).kind, FailureKind::InvalidRequest);
}

#[test]
fn count_tokens_reads_a_wrapped_request() {
    let body = json!({"generateContentRequest": {"model": "models/gpt-5.4",
        "contents": [{"parts": [{"text": "hello world"}]}]}});
    let req = parse_count_tokens(body.to_string().as_bytes(), "gpt-5.4").expect("valid");
    assert_eq!(crate::tokens::count_request(&req), 5);
}

#[test]
fn stream_has_no_keep_alive_skips_empty_text_and_ends_once_on_error() {
    let mut egress = GeminiStreamEgress::new(GeminiConfig { model: "m".into() }, Framing::Sse);
    assert_eq!(egress.keep_alive(), None);
    let mut out = BytesMut::new();
    egress
        .write(
            &ChatEvent::TextDelta {
                index: 0,
                text: JsonText::empty(),
            },
            &mut out,
        )
        .expect("writes");
    assert!(out.is_empty());
    let err = ApiError::new(FailureKind::Overloaded, "busy");
    egress.write_error(&err, &mut out);
    egress.write_error(&err, &mut out);
    assert_eq!(
        &out[..],
        b"data: {\"error\":{\"code\":503,\"message\":\"busy\",\"status\":\"UNAVAILABLE\"}}\n\n"
    );
}
