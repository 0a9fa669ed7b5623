//! Unit tests of the Anthropic folder: request mapping and the thinking round trip.

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{SseEvent, Transcoder};
use serde_json::{json, Value};

use super::*;
use crate::canonical::{
    ContentPart, InputItem, ReasoningEffort, ReasoningSummary, Role, ServiceTier, Tool, ToolChoice,
    ToolOutput,
};
use crate::responses::{encode_request, ToolNameMap};
use crate::translate::Translator;

fn key() -> SignatureKey {
    SignatureKey::new(b"unit test key")
}

fn parse(body: Value) -> ParsedMessages {
    parse_request(body.to_string().as_bytes(), &key()).expect("valid request")
}

#[test]
fn claude_code_shaped_request() {
    let parsed = parse(json!({
        "model": "claude-opus-4-8[1m]", "max_tokens": 64000, "stream": true,
        "temperature": 1, "context_management": {"edits": []},
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
        "metadata": {"user_id": "{\"session_id\":\"s1\"}"},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1; cch=abc;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be brief."}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>r</system-reminder>"},
                {"type": "text", "text": "say hi", "cache_control": {"type": "ephemeral"}}]},
            {"role": "system", "content": "Available agent types: none"}
        ],
        "tools": [{"name": "Bash", "description": "Run", "strict": true, "defer_loading": false,
                   "cache_control": {"type": "ephemeral"},
                   "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#",
                                    "type": "object", "properties": {"command": {"type": "string"}}}}]
    }));
    let req = parsed.request;
    assert_eq!(req.model, "claude-opus-4-8[1m]");
    assert!(req.stream);
    assert_eq!(req.instructions, "You are Claude Code.\n\nBe brief.");
    assert_eq!(req.reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!(
        parsed.user_cache_key,
        Some(cache_key_of("{\"session_id\":\"s1\"}"))
    );
    assert_eq!(parsed.user_cache_key.as_deref().map(str::len), Some(39));
    assert_eq!(
        req.input,
        vec![
            InputItem::Message {
                role: Role::User,
                content: vec![
                    ContentPart::Text("<system-reminder>r</system-reminder>".into()),
                    ContentPart::Text("say hi".into()),
                ],
            },
            InputItem::Message {
                role: Role::Developer,
                content: vec![ContentPart::Text("Available agent types: none".into())],
            },
        ]
    );
    let Tool::Function(f) = &req.tools[0] else {
        panic!("function tool expected")
    };
    assert_eq!(f.strict, None);
    assert_eq!(
        f.parameters,
        Some(json!({"type": "object", "properties": {"command": {"type": "string"}}}))
    );
    // What reaches the backend: no sampling field, no cache_control, no $schema.
    let body: Value =
        serde_json::from_slice(&encode_request(&req).expect("encodes").body).expect("json");
    let text = body.to_string();
    for absent in [
        "max_tokens",
        "temperature",
        "cache_control",
        "$schema",
        "billing",
        "defer_loading",
    ] {
        assert!(!text.contains(absent), "{absent} forwarded: {text}");
    }
}

#[test]
fn tool_round_trip_images_documents_and_errors() {
    let parsed = parse(json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "a.pdf"},
                {"type": "text", "text": "what is this?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": "boom"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                    {"type": "text", "text": "shot"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "BBBB"}}]},
                {"type": "text", "text": "go on"}]}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "speed": "fast"
    }));
    let req = parsed.request;
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert_eq!(req.reasoning_effort, Some(ReasoningEffort::Medium));
    assert_eq!(req.service_tier, Some(ServiceTier::Priority));
    assert_eq!(req.input.len(), 6);
    assert_eq!(
        req.input[0],
        InputItem::Message {
            role: Role::User,
            content: vec![
                ContentPart::Image {
                    url: "data:image/jpeg;base64,AAAA".into(),
                    detail: None
                },
                ContentPart::Image {
                    url: "https://example.invalid/a.png".into(),
                    detail: None
                },
                ContentPart::File {
                    url: "data:application/pdf;base64,JVBE".into(),
                    filename: Some("a.pdf".into())
                },
                ContentPart::Text("what is this?".into()),
            ],
        }
    );
    assert_eq!(
        req.input[2],
        InputItem::FunctionCall {
            call_id: "toolu_1".into(),
            name: "Bash".into(),
            arguments: r#"{"command":"ls"}"#.into()
        }
    );
    assert_eq!(
        req.input[3],
        InputItem::FunctionCallOutput {
            call_id: "toolu_1".into(),
            output: ToolOutput {
                parts: vec![ContentPart::Text("boom".into())],
                is_error: true
            },
        }
    );
    let InputItem::FunctionCallOutput { output, .. } = &req.input[4] else {
        panic!("tool output expected")
    };
    assert_eq!(output.parts.len(), 2);
    assert!(matches!(
        &req.input[5],
        InputItem::Message {
            role: Role::User,
            ..
        }
    ));
}

#[test]
fn bad_requests_are_invalid_request_errors() {
    for body in [
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "tool", "content": "x"}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": "tool", "name": "bash"},
               "tools": [{"type": "bash_20250124", "name": "bash"}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": "tool"}}),
        json!({"model": "m", "max_tokens": 1, "messages": [], "thinking": {"type": "sometimes"}}),
        json!({"model": "m", "messages": 3}),
    ] {
        let err = parse_request(body.to_string().as_bytes(), &key()).expect_err("invalid");
        let rendered = error_response(&err.into());
        assert_eq!(rendered.status, 400, "{body}");
        let v: Value = serde_json::from_slice(&rendered.body).expect("json");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
}

#[test]
fn thinking_disabled_web_search_and_effort_mapping() {
    let parsed = parse(json!({
        "model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "disabled"},
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    }));
    assert_eq!(parsed.request.tools, vec![Tool::WebSearch]);
    assert_eq!(parsed.request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        parsed.request.reasoning_summary,
        Some(ReasoningSummary::None)
    );
    // Server tools without a backend equivalent are dropped, not refused.
    let parsed = parse(json!({"model": "m", "max_tokens": 1, "messages": [],
        "tools": [{"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                  {"name": "Read", "input_schema": {"type": "object"}}]}));
    assert_eq!(parsed.request.tools.len(), 1);
    assert_eq!(budget_effort(1024), ReasoningEffort::Low);
    assert_eq!(budget_effort(16384), ReasoningEffort::High);
    assert_eq!(budget_effort(64000), ReasoningEffort::XHigh);
}

/// The backend's `encrypted_content` goes out as a signature and comes back, byte-exact, as
/// the reasoning item's `encrypted_content`; a foreign or forged signature is dropped.
#[test]
fn thinking_signature_round_trip() {
    let egress = MessagesStreamEgress::new(MessagesConfig {
        id: "msg_1".into(),
        model: "claude".into(),
        signatures: key(),
    });
    let mut t = Translator::new(ToolNameMap::default(), egress);
    let mut out = BytesMut::new();
    for data in [
        r#"{"type":"response.created","response":{"id":"resp_1"}}"#,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAA+/x=="}}"#,
        r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"delta":"Hi"}"#,
        r#"{"type":"response.completed","response":{"id":"resp_1","output":[]}}"#,
    ] {
        t.on_frame(SseEvent::new(None, Bytes::from(data)), &mut out)
            .expect("event");
    }
    t.finish(&mut out).expect("completed");
    let text = String::from_utf8(out.to_vec()).expect("utf-8");
    let signature = text
        .split("\"signature\":\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .expect("a signature_delta");
    assert!(signature.starts_with(SIGNATURE_PREFIX));

    let forged = format!("{}x", &signature[..signature.len() - 1]);
    let parsed = parse(json!({
        "model": "m", "max_tokens": 1,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "", "signature": signature},
                {"type": "thinking", "thinking": "theirs", "signature": "EqQBCgIYAhIM1gbc"},
                {"type": "redacted_thinking", "data": forged},
                {"type": "text", "text": "Hi"}]},
            {"role": "user", "content": "again"}
        ]
    }));
    assert_eq!(parsed.dropped_signatures, 2);
    let reasoning: Vec<_> = parsed
        .request
        .input
        .iter()
        .filter_map(|i| match i {
            InputItem::Reasoning {
                encrypted_content, ..
            } => encrypted_content.as_deref(),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, ["gAAAA+/x=="]);
    let body = encode_request(&parsed.request).expect("encodes").body;
    let body = String::from_utf8(body).expect("utf-8");
    assert!(
        body.contains(r#""encrypted_content":"gAAAA+/x==""#),
        "{body}"
    );
    assert!(body.contains(r#""include":["reasoning.encrypted_content"]"#));
}

#[test]
fn count_tokens_counts_system_messages_tools() {
    let small =
        parse(json!({"model": "m", "messages": [{"role": "user", "content": "hello world"}]}));
    let n = count_tokens(&small.request);
    // 3 (priming) + 3 (message) + 2 ("hello world").
    assert_eq!(n, 8);
    let bigger = parse(json!({"model": "m", "system": "You are helpful.",
        "messages": [{"role": "user", "content": "hello world"}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]}));
    assert!(count_tokens(&bigger.request) > n + 10);
}

/// The hand-written `content_block_delta` is byte for byte what serde writes.
#[test]
fn direct_delta_bytes_equal_serde() {
    use super::wire::{BlockDeltaOut, DeltaOut};
    use crate::canonical::JsonText;
    let text = JsonText::new("a \"b\"\n ünï 🦀");
    for index in [0_u32, 7, 10, 4_294_967_295] {
        for delta in [
            DeltaOut::TextDelta { text: &text },
            DeltaOut::ThinkingDelta { thinking: &text },
            DeltaOut::SignatureDelta { signature: &text },
            DeltaOut::InputJsonDelta {
                partial_json: &text,
            },
        ] {
            let mut expected = BytesMut::new();
            let value = BlockDeltaOut {
                kind: "content_block_delta",
                index,
                delta,
            };
            codex_pipe_engine::SseEncoder::json(&mut expected, Some("content_block_delta"), &value)
                .expect("serializes");
            let mut direct = BytesMut::new();
            super::egress::write_delta(&mut direct, index, delta);
            assert_eq!(direct, expected);
        }
    }
}
