use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::canonical::{
    ApiError, Block, ChatEvent, ContentPart, FinishReason, InputItem, JsonText, ProtocolError,
    ReasoningEffort, ResponseStart, Role, ServiceTier, TextFormat, ToolChoice, UpstreamFailure,
};
use crate::responses::encode_request;

#[test]
fn request_mapping() {
    let body = json!({
        "model": "gpt-5.4-high",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Describe both"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                {"type": "image_url", "image_url": "https://example.com/cat.jpg"}
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            {"role": "system", "content": "Late system note."},
            {"role": "user", "content": "thanks", "name": "bob"}
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "d", "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
        "reasoning_effort": "low",
        "service_tier": "flex",
        "prompt_cache_key": "conv-9",
        "stream": true,
        "stream_options": {"include_usage": true},
        "temperature": 0.3, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 100,
        "n": 1, "stop": ["\n"], "seed": 1, "user": "u", "metadata": {"a": "b"}, "logprobs": false
    });
    let ParsedChat {
        request: req,
        include_usage,
    } = parse_request(body.to_string().as_bytes()).expect("parses");
    assert_eq!(req.model, "gpt-5.4-high");
    assert_eq!(req.instructions, "You are terse.\n\nAnswer in French.");
    assert_eq!(
        req.input,
        vec![
            InputItem::Message {
                role: Role::User,
                content: vec![
                    ContentPart::Text("Describe both".into()),
                    ContentPart::Image {
                        url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        detail: Some("high".into())
                    },
                    ContentPart::Image {
                        url: "https://example.com/cat.jpg".into(),
                        detail: None
                    },
                ],
            },
            InputItem::FunctionCall {
                call_id: "call_1".into(),
                name: "lookup".into(),
                arguments: r#"{"q":"cat"}"#.into()
            },
            InputItem::FunctionCallOutput {
                call_id: "call_1".into(),
                output: "a cat".into()
            },
            InputItem::Message {
                role: Role::Developer,
                content: vec![ContentPart::Text("Late system note.".into())]
            },
            InputItem::Message {
                role: Role::User,
                content: vec![ContentPart::Text("thanks".into())]
            },
        ]
    );
    assert_eq!(req.tools.len(), 1);
    assert_eq!(
        req.tools[0].as_function().and_then(|t| t.strict),
        Some(true)
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::Function("lookup".into())));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert!(
        matches!(req.text_format, Some(TextFormat::JsonSchema { ref name, .. }) if name == "out")
    );
    assert_eq!(req.reasoning_effort, Some(ReasoningEffort::Low));
    assert_eq!(req.service_tier, Some(ServiceTier::Flex));
    assert_eq!(req.prompt_cache_key.as_deref(), Some("conv-9"));
    assert!(req.stream && include_usage);

    // And on to the upstream body: nothing the backend rejects survives.
    let upstream: Value =
        serde_json::from_slice(&encode_request(&req).expect("encodes").body).expect("JSON");
    for banned in [
        "temperature",
        "top_p",
        "max_tokens",
        "max_output_tokens",
        "stop",
        "n",
        "seed",
        "user",
        "metadata",
    ] {
        assert!(upstream.get(banned).is_none(), "{banned}");
    }
    assert_eq!(upstream["store"], false);
    assert_eq!(upstream["stream"], true);
}

#[test]
fn request_defaults_and_variants() {
    let ParsedChat {
        request: req,
        include_usage,
    } = parse_request(
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"tool_choice":"required"}"#,
    )
    .expect("parses");
    assert!(!req.stream);
    assert!(!include_usage, "include_usage only applies to streams");
    assert_eq!(req.instructions, "");
    assert_eq!(req.text_format, Some(TextFormat::JsonObject));
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
}

#[test]
fn request_errors_are_typed() {
    let err = |body: &[u8]| parse_request(body).expect_err("must fail");
    assert!(matches!(err(b"not json"), ProtocolError::InvalidJson(_)));
    assert!(matches!(
        err(br#"{"messages":[]}"#),
        ProtocolError::InvalidJson(_)
    ));
    let n = err(br#"{"model":"m","messages":[],"n":2}"#);
    assert!(matches!(&n, ProtocolError::InvalidRequest { param: Some(p), .. } if p == "n"));
    assert_eq!(error_response(&ApiError::from(&n)).status, 400);
    assert!(matches!(
        err(br#"{"model":"m","messages":[{"role":"function","content":"x"}]}"#),
        ProtocolError::InvalidRequest { .. }
    ));
    assert!(matches!(
        err(br#"{"model":"m","messages":[],"reasoning_effort":"max"}"#),
        ProtocolError::InvalidRequest { param: Some(p), .. } if p == "reasoning_effort"
    ));
    assert!(matches!(
        err(br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#),
        ProtocolError::InvalidRequest { .. }
    ));
    assert!(matches!(
        err(br#"{"model":"m","messages":[],"tools":[{"type":"web_search"}]}"#),
        ProtocolError::InvalidRequest { param: Some(p), .. } if p == "tools"
    ));
}

fn config(include_usage: bool) -> ChatStreamConfig {
    ChatStreamConfig {
        id: "chatcmpl-1".into(),
        created: 7,
        model: "gpt-5.4".into(),
        include_usage,
    }
}

fn frames(out: &[u8]) -> Vec<&str> {
    std::str::from_utf8(out)
        .expect("utf-8")
        .split_terminator("\n\n")
        .map(|f| f.strip_prefix("data: ").expect("data frame"))
        .collect()
}

#[test]
fn stream_without_include_usage_has_no_usage_field() {
    let mut egress = ChatStreamEgress::new(config(false));
    let mut out = BytesMut::new();
    for ev in [
        ChatEvent::Start(ResponseStart::default()),
        ChatEvent::BlockStart {
            index: 0,
            block: Block::Text,
        },
        ChatEvent::TextDelta {
            index: 0,
            text: JsonText::new("hi"),
        },
        ChatEvent::BlockStop {
            index: 0,
            encrypted_content: None,
        },
        ChatEvent::Usage(Default::default()),
        ChatEvent::Finish(FinishReason::Stop),
        ChatEvent::TextDelta {
            index: 0,
            text: JsonText::new("after the end"),
        },
    ] {
        egress.write(&ev, &mut out).expect("writes");
    }
    assert_eq!(
        frames(&out),
        [
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"gpt-5.4","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"gpt-5.4","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"gpt-5.4","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]
    );
    assert!(egress.is_finished());
}

#[test]
fn error_first_writes_only_the_error_frame() {
    let mut egress = ChatStreamEgress::new(config(true));
    let mut out = BytesMut::new();
    egress
        .write(
            &ChatEvent::Error(UpstreamFailure::premature_close()),
            &mut out,
        )
        .expect("writes");
    assert_eq!(
        frames(&out),
        [
            r#"{"error":{"message":"stream closed before response.completed","type":"server_error","param":null,"code":"stream_closed"}}"#
        ]
    );
    let e = error_response(&ApiError::from(&UpstreamFailure::premature_close()));
    assert_eq!(e.status, 504);
}

#[test]
fn aggregator_without_finish_is_an_error() {
    let mut agg = ChatCompletionAggregator::new(config(false));
    agg.push(&ChatEvent::TextDelta {
        index: 0,
        text: JsonText::new("x"),
    });
    let err = agg.finish().expect_err("no finish");
    assert_eq!(err.http_status(), 504);
}

proptest! {
    /// Any text, cut anywhere into deltas, reads back identical from the chunks, and each
    /// frame is one line of JSON.
    #[test]
    fn text_survives_the_egress(pieces in proptest::collection::vec(any::<String>(), 1..8)) {
        let mut egress = ChatStreamEgress::new(config(false));
        let mut out = BytesMut::new();
        egress.write(&ChatEvent::Start(ResponseStart::default()), &mut out).expect("writes");
        for p in &pieces {
            egress.write(&ChatEvent::TextDelta { index: 0, text: JsonText::new(p) }, &mut out).expect("writes");
        }
        egress.write(&ChatEvent::Finish(FinishReason::Stop), &mut out).expect("writes");
        let mut text = String::new();
        for frame in frames(&out) {
            prop_assert!(!frame.contains('\n') && !frame.contains('\r'));
            if frame == "[DONE]" { continue; }
            let v: Value = serde_json::from_str(frame).expect("JSON chunk");
            if let Some(c) = v["choices"][0]["delta"]["content"].as_str() { text.push_str(c); }
        }
        prop_assert_eq!(text, pieces.concat());
    }
}
