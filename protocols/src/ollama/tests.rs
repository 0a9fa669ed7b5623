//! Tests of the Ollama protocol folder: request mapping and the egress rules the goldens do
//! not isolate.

use bytes::BytesMut;
use serde_json::json;

use super::*;
use crate::canonical::{
    ApiError, ChatEvent, ContentPart, FailureKind, InputItem, JsonText, ReasoningEffort,
    ReasoningSummary, Role, TextFormat, Tool,
};
use crate::translate::Egress;

fn chat(body: serde_json::Value) -> ParsedOllama {
    parse_chat(body.to_string().as_bytes()).expect("valid request")
}

#[test]
fn chat_messages_images_tools_and_calls_by_name() {
    let parsed = chat(json!({
        "model": "gpt-5.4:latest",
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "look", "images": ["/9j/4AAQ", "iVBORw0KGgo="]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_time", "arguments": "{\"zone\":\"UTC\"}"}}]},
            {"role": "tool", "content": "12:00", "tool_name": "get_time"},
            {"role": "tool", "content": "sunny"}
        ],
        "options": {"temperature": 0.1, "num_predict": 5},
        "keep_alive": "5m"
    }));
    let req = &parsed.request;
    assert_eq!(
        (req.model.as_str(), parsed.model.as_str()),
        ("gpt-5.4", "gpt-5.4:latest")
    );
    assert!(req.stream, "Ollama streams by default");
    assert!(!parsed.think);
    assert_eq!(req.reasoning_summary, Some(ReasoningSummary::None));
    assert_eq!(req.instructions, "Be brief.");
    assert_eq!(
        req.input[0],
        InputItem::Message {
            role: Role::User,
            content: vec![
                ContentPart::Text("look".into()),
                ContentPart::Image {
                    url: "data:image/jpeg;base64,/9j/4AAQ".into(),
                    detail: None
                },
                ContentPart::Image {
                    url: "data:image/png;base64,iVBORw0KGgo=".into(),
                    detail: None
                },
            ]
        }
    );
    let pairs: Vec<(&str, String)> = req.input[1..]
        .iter()
        .map(|item| match item {
            InputItem::FunctionCall {
                call_id, arguments, ..
            } => (call_id.as_str(), arguments.clone()),
            InputItem::FunctionCallOutput { call_id, output } => {
                (call_id.as_str(), output.joined_text())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("call_ol0", r#"{"city":"Paris"}"#.to_owned()),
            ("call_ol1", r#"{"zone":"UTC"}"#.to_owned()),
            ("call_ol1", "12:00".to_owned()),
            ("call_ol0", "sunny".to_owned()),
        ]
    );
    assert!(matches!(&req.tools[..], [Tool::Function(f)] if f.name == "get_weather"));
}

#[test]
fn empty_tools_format_think_and_generate() {
    let parsed = chat(
        json!({"model": "m", "tools": [], "stream": false, "format": "json",
        "think": "high", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert!(parsed.request.tools.is_empty());
    assert!(!parsed.request.stream);
    assert!(parsed.think);
    assert_eq!(parsed.request.reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!(parsed.request.reasoning_summary, None);
    assert_eq!(parsed.request.text_format, Some(TextFormat::JsonObject));
    let parsed =
        chat(json!({"model": "m", "think": true, "format": {"type": "object"}, "messages": []}));
    assert!(parsed.think && parsed.request.reasoning_effort.is_none());
    assert!(
        matches!(parsed.request.text_format, Some(TextFormat::JsonSchema { ref name, .. }) if name == SCHEMA_NAME)
    );

    let parsed =
        parse_generate(br#"{"model":"m","prompt":"hi","system":"sys","images":["R0lGODlh"]}"#)
            .expect("valid");
    assert_eq!(parsed.request.instructions, "sys");
    assert_eq!(
        parsed.request.input,
        [InputItem::Message {
            role: Role::User,
            content: vec![
                ContentPart::Text("hi".into()),
                ContentPart::Image {
                    url: "data:image/gif;base64,R0lGODlh".into(),
                    detail: None
                },
            ]
        }]
    );
}

#[test]
fn bad_requests_are_400s() {
    for (body, needle) in [
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x", "tool_name": "f"}]}),
            "no earlier",
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            "role",
        ),
        (
            json!({"model": "m", "think": "max", "messages": []}),
            "think",
        ),
        (
            json!({"model": "m", "format": "yaml", "messages": []}),
            "format",
        ),
        (json!({"model": " ", "messages": []}), "model"),
        (
            json!({"model": "m", "tools": [{"type": "retrieval", "function": {"name": "x"}}], "messages": []}),
            "tool type",
        ),
    ] {
        let err = parse_chat(body.to_string().as_bytes()).expect_err("invalid");
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(error_response(&ApiError::from(&err)).status, 400);
    }
    assert!(parse_chat(b"[]").is_err());
}

fn config(think: bool) -> OllamaConfig {
    OllamaConfig {
        endpoint: Endpoint::Chat,
        model: "m".into(),
        created_at: "t".into(),
        think,
        started: None,
    }
}

#[test]
fn thinking_only_when_asked_no_keep_alive_and_one_error_line() {
    let reasoning = ChatEvent::ReasoningDelta {
        index: 0,
        text: JsonText::new("hmm"),
    };
    let mut quiet = OllamaStreamEgress::new(config(false));
    let mut out = BytesMut::new();
    quiet.write(&reasoning, &mut out).expect("writes");
    assert!(out.is_empty());
    assert_eq!(quiet.keep_alive(), None);

    let mut thinking = OllamaStreamEgress::new(config(true));
    thinking.write(&reasoning, &mut out).expect("writes");
    assert_eq!(
        &out[..],
        b"{\"model\":\"m\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hmm\"},\"done\":false}\n"
    );
    out.clear();
    let err = ApiError::new(FailureKind::ServerError, "boom");
    thinking.write_error(&err, &mut out);
    thinking.write_error(&err, &mut out);
    assert_eq!(&out[..], b"{\"error\":\"boom\"}\n");
}
