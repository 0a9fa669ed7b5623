use serde_json::{json, Value};

use super::*;
use crate::canonical::{
    Block, ChatEvent, ChatRequest, ContentPart, FailureKind, FinishReason, FunctionTool, InputItem,
    ProtocolError, ReasoningEffort, Role, ServiceTier, TextFormat, Tool, ToolChoice, Usage,
};

fn body_of(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_request(req).expect("encodes").body).expect("JSON")
}

fn user(text: &str) -> InputItem {
    InputItem::Message {
        role: Role::User,
        content: vec![ContentPart::Text(text.into())],
    }
}

#[test]
fn minimal_request_matches_the_backend_contract() {
    let req = ChatRequest {
        model: "gpt-5.4".into(),
        input: vec![user("Hi")],
        ..ChatRequest::default()
    };
    let body = encode_request(&req).expect("encodes").body;
    assert_eq!(
        std::str::from_utf8(&body).expect("utf-8"),
        r#"{"model":"gpt-5.4","instructions":"","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]}],"tools":[],"tool_choice":"auto","parallel_tool_calls":false,"reasoning":{"summary":"auto"},"store":false,"stream":true,"include":["reasoning.encrypted_content"]}"#
    );
}

#[test]
fn full_request_fields() {
    let req = ChatRequest {
        model: "gpt-5.4".into(),
        instructions: "Be brief.".into(),
        input: vec![
            InputItem::Message {
                role: Role::User,
                content: vec![
                    ContentPart::Text("What is this?".into()),
                    ContentPart::Image {
                        url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        detail: Some("low".into()),
                    },
                ],
            },
            InputItem::Reasoning {
                id: Some("rs_1".into()),
                summary: vec!["thought".into()],
                encrypted_content: Some("gAAAA".into()),
            },
            InputItem::Message {
                role: Role::Assistant,
                content: vec![ContentPart::Text("Calling.".into())],
            },
            InputItem::FunctionCall {
                call_id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            InputItem::FunctionCallOutput {
                call_id: "call_1".into(),
                output: r#"{"temp":21}"#.into(),
            },
        ],
        tools: vec![Tool::Function(FunctionTool {
            name: "get_weather".into(),
            description: Some("Weather by city".into()),
            parameters: Some(json!({"type":"object","properties":{"city":{"type":"string"}}})),
            strict: Some(false),
        })],
        tool_choice: Some(ToolChoice::Function("get_weather".into())),
        reasoning_effort: Some(ReasoningEffort::High),
        text_format: Some(TextFormat::JsonSchema {
            name: "answer".into(),
            description: None,
            schema: json!({"type":"object"}),
            strict: Some(true),
        }),
        service_tier: Some(ServiceTier::Priority),
        prompt_cache_key: Some("conv-1".into()),
        ..ChatRequest::default()
    };
    let body = body_of(&req);
    assert_eq!(body["instructions"], "Be brief.");
    assert_eq!(
        body["input"][0]["content"][1],
        json!({"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"})
    );
    assert_eq!(
        body["input"][1],
        json!({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thought"}],"content":null,"encrypted_content":"gAAAA"})
    );
    assert_eq!(body["input"][2]["content"][0]["type"], "output_text");
    assert_eq!(
        body["input"][3],
        json!({"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"})
    );
    assert_eq!(
        body["input"][4],
        json!({"type":"function_call_output","call_id":"call_1","output":"{\"temp\":21}"})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["name"], "get_weather");
    assert!(body["tools"][0].get("function").is_none(), "tools are flat");
    assert_eq!(
        body["tool_choice"],
        json!({"type":"function","name":"get_weather"})
    );
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(body["reasoning"], json!({"effort":"high","summary":"auto"}));
    assert_eq!(
        body["text"],
        json!({"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true}})
    );
    assert_eq!(body["service_tier"], "priority");
    assert_eq!(body["prompt_cache_key"], "conv-1");
    for banned in [
        "max_output_tokens",
        "temperature",
        "top_p",
        "stop",
        "n",
        "previous_response_id",
    ] {
        assert!(body.get(banned).is_none(), "{banned} must never be sent");
    }
}

#[test]
fn reasoning_none_sends_no_summary_and_no_include() {
    let req = ChatRequest {
        model: "gpt-5.4".into(),
        input: vec![user("x")],
        reasoning_effort: Some(ReasoningEffort::None),
        ..ChatRequest::default()
    };
    let body = body_of(&req);
    assert_eq!(body["reasoning"], json!({"effort":"none"}));
    assert_eq!(body["include"], json!([]));
}

#[test]
fn empty_model_is_a_typed_error() {
    let err = encode_request(&ChatRequest::default()).expect_err("no model");
    assert!(matches!(err, ProtocolError::InvalidRequest { .. }));
    assert_eq!(err.http_status(), 400);
}

#[test]
fn long_names_and_ids_are_shortened_and_restored() {
    let long_name = format!("mcp__{}__search_docs", "x".repeat(80));
    let long_plain = "t".repeat(70);
    let long_call = format!("toolu_{}", "9".repeat(70));
    let req = ChatRequest {
        model: "gpt-5.4".into(),
        input: vec![
            InputItem::FunctionCall {
                call_id: long_call.clone(),
                name: long_name.clone(),
                arguments: "{}".into(),
            },
            InputItem::FunctionCallOutput {
                call_id: long_call.clone(),
                output: "ok".into(),
            },
            InputItem::Reasoning {
                id: Some("r".repeat(65)),
                summary: vec![],
                encrypted_content: None,
            },
        ],
        tools: [
            long_name.as_str(),
            long_plain.as_str(),
            "t".repeat(64).as_str(),
        ]
        .iter()
        .map(|n| {
            Tool::Function(FunctionTool {
                name: (*n).into(),
                description: None,
                parameters: None,
                strict: None,
            })
        })
        .collect(),
        ..ChatRequest::default()
    };
    let encoded = encode_request(&req).expect("encodes");
    let body: Value = serde_json::from_slice(&encoded.body).expect("JSON");
    assert_eq!(body["tools"][0]["name"], "mcp__search_docs");
    // 70 × 't' cut to 64 collides with the declared 64 × 't': gets a suffix.
    assert_eq!(body["tools"][1]["name"], format!("{}_1", "t".repeat(62)));
    assert_eq!(body["tools"][2]["name"], "t".repeat(64));
    assert_eq!(body["input"][0]["name"], "mcp__search_docs");
    let call_id = body["input"][0]["call_id"].as_str().expect("call id");
    assert!(call_id.len() <= MAX_ID_LEN);
    assert_eq!(
        body["input"][1]["call_id"], call_id,
        "call and output still pair"
    );
    assert_eq!(
        body["input"].as_array().map(Vec::len),
        Some(2),
        "long reasoning id dropped"
    );

    let names = &encoded.tool_names;
    assert_eq!(names.original("mcp__search_docs"), long_name);
    assert_eq!(names.original(&format!("{}_1", "t".repeat(62))), long_plain);
    assert_eq!(names.original("get_weather"), "get_weather");

    let mut ingress = ResponsesIngress::new(encoded.tool_names.clone());
    let mut events = Vec::new();
    ingress
        .push(br#"{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"mcp__search_docs","arguments":""}}"#, &mut events)
        .expect("valid");
    assert!(
        matches!(&events[1], ChatEvent::BlockStart { block: Block::ToolCall { name, .. }, .. } if **name == *long_name)
    );

    let restored = names
        .restore_event(br#"{"type":"response.output_item.done","item":{"type":"function_call","name":"mcp__search_docs"}}"#)
        .expect("valid")
        .expect("changed");
    let restored: Value = serde_json::from_slice(&restored).expect("JSON");
    assert_eq!(restored["item"]["name"], long_name.as_str());
    assert!(names
        .restore_event(br#"{"type":"response.output_text.delta","delta":"hi"}"#)
        .expect("valid")
        .is_none());
}

#[test]
fn fixup_makes_a_codex_cli_body_acceptable() {
    let body = json!({
        "model": "gpt-5.4",
        "input": [{"type":"message","role":"developer","content":[{"type":"input_text","text":"You are Codex"}]},
                  {"type":"function_call","id":"x".repeat(70),"call_id":"c".repeat(70),"name":"exec_command","arguments":"{}"},
                  {"type":"function_call_output","call_id":"c".repeat(70),"output":"ok"}],
        "tools": [{"type":"function","name":"exec_command","parameters":{"type":"object"}}],
        "tool_choice": "auto",
        "reasoning": {"summary": "auto"},
        "store": true,
        "temperature": 0.2,
        "max_output_tokens": 1000,
        "previous_response_id": "resp_0",
        "stream_options": {"include_obfuscation": false},
        "service_tier": "fast",
        "prompt_cache_key": "k",
    });
    let fixed = fixup_responses_request(body.to_string().as_bytes()).expect("fixes");
    assert!(!fixed.client_stream);
    let mut dropped = fixed.dropped.clone();
    dropped.sort();
    assert_eq!(
        dropped,
        [
            "max_output_tokens",
            "previous_response_id",
            "stream_options",
            "temperature"
        ]
    );
    let out: Value = serde_json::from_slice(&fixed.body).expect("JSON");
    assert_eq!(out["store"], false);
    assert_eq!(out["stream"], true);
    assert_eq!(out["instructions"], "");
    assert_eq!(out["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(out["service_tier"], "priority");
    assert!(
        out["input"][1].get("id").is_none(),
        "over-long item id removed"
    );
    let call_id = out["input"][1]["call_id"].as_str().expect("call id");
    assert!(call_id.len() <= MAX_ID_LEN);
    assert_eq!(out["input"][2]["call_id"], call_id);
    assert_eq!(out["input"][0]["content"][0]["text"], "You are Codex");
}

#[test]
fn fixup_string_input_stream_flag_and_errors() {
    let fixed = fixup_responses_request(
        br#"{"model":"gpt-5.4","input":"hi","stream":true,"instructions":null,"reasoning":{"effort":"none"},"service_tier":"default"}"#,
    )
    .expect("fixes");
    assert!(fixed.client_stream);
    let out: Value = serde_json::from_slice(&fixed.body).expect("JSON");
    assert_eq!(
        out["input"],
        json!([{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}])
    );
    assert_eq!(out["instructions"], "");
    assert!(
        out.get("include").is_none(),
        "reasoning off: no include added"
    );
    assert!(out.get("service_tier").is_none());

    assert!(matches!(
        fixup_responses_request(b"{"),
        Err(ProtocolError::InvalidJson(_))
    ));
    assert!(matches!(
        fixup_responses_request(b"[]"),
        Err(ProtocolError::InvalidRequest { .. })
    ));
    assert!(matches!(
        fixup_responses_request(br#"{"input":[]}"#),
        Err(ProtocolError::InvalidRequest { param: Some(p), .. }) if p == "model"
    ));
    assert!(matches!(
        fixup_responses_request(br#"{"model":"m"}"#),
        Err(ProtocolError::InvalidRequest { param: Some(p), .. }) if p == "input"
    ));
}

#[test]
fn compact_fixup_keeps_only_compact_fields() {
    let fixed = fixup_compact_request(
        br#"{"model":"gpt-5.4","input":[],"store":false,"stream":true,"include":[],"tools":[],"temperature":1}"#,
    )
    .expect("fixes");
    let out: Value = serde_json::from_slice(&fixed.body).expect("JSON");
    assert_eq!(
        out,
        json!({"model":"gpt-5.4","input":[],"tools":[],"instructions":""})
    );
}

fn run(events: &[&[u8]]) -> Vec<ChatEvent> {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut out = Vec::new();
    for data in events {
        ingress.push(data, &mut out).expect("valid event");
    }
    ingress.finish(&mut out);
    out
}

#[test]
fn malformed_events_say_whether_the_stream_can_continue() {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut out = Vec::new();
    let err = ingress
        .push(
            br#"{"type":"response.output_text.delta","delta":"#,
            &mut out,
        )
        .expect_err("truncated JSON");
    assert!(err.can_continue());
    let err = ingress
        .push(br#"{"type":"response.completed","response":"#, &mut out)
        .expect_err("truncated terminal");
    assert!(!err.can_continue());
    assert_eq!(err.http_status(), 502);
    assert!(out.is_empty(), "no state change on a malformed event");
}

#[test]
fn unknown_done_and_late_events_are_ignored() {
    let events = run(&[
        br#"{"type":"response.created","response":{"id":"resp_1","model":"gpt-5.4","created_at":17}}"#,
        br#"{"type":"response.brand_new_event","x":1}"#,
        br#"{"type":"codex.rate_limits","plan_type":"plus"}"#,
        br#"{"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":3,"input_tokens_details":null,"output_tokens":2,"output_tokens_details":null}}}"#,
        br#"{"type":"response.output_text.delta","item_id":"m","delta":"late"}"#,
        b"[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            ChatEvent::Start(crate::canonical::ResponseStart {
                id: "resp_1".into(),
                model: "gpt-5.4".into(),
                created: 17
            }),
            ChatEvent::Usage(Usage {
                input_tokens: 3,
                cached_input_tokens: 0,
                output_tokens: 2,
                reasoning_output_tokens: 0,
                total_tokens: 5
            }),
            ChatEvent::Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn premature_close_is_an_error() {
    let events = run(&[
        br#"{"type":"response.output_text.delta","item_id":"m","output_index":0,"delta":"Hi"}"#,
    ]);
    assert!(matches!(events[0], ChatEvent::Start(_)));
    assert!(matches!(
        events[1],
        ChatEvent::BlockStart {
            index: 0,
            block: Block::Text
        }
    ));
    assert!(matches!(&events[2], ChatEvent::TextDelta { text, .. } if text.decode() == "Hi"));
    match &events[3] {
        ChatEvent::Error(f) => assert_eq!(f.kind, FailureKind::PrematureClose),
        other => panic!("expected error, got {other:?}"),
    }
}

#[test]
fn arguments_are_never_sent_twice() {
    let events = run(&[
        br#"{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":""}}"#,
        br#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"a\":"}"#,
        br#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"1}"}"#,
        br#"{"type":"response.function_call_arguments.done","item_id":"fc_1","output_index":0,"arguments":"{\"a\":1}"}"#,
        br#"{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}}"#,
        br#"{"type":"response.completed","response":{"id":"r","output":[{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}]}}"#,
    ]);
    let args: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ToolArgumentsDelta { arguments, .. } => {
                Some(arguments.decode().into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(args, r#"{"a":1}"#);
    assert_eq!(
        events.last(),
        Some(&ChatEvent::Finish(FinishReason::ToolCalls))
    );
}

#[test]
fn failures_and_incomplete_reasons() {
    let failure = |data: &[u8]| match run(&[data]).pop() {
        Some(ChatEvent::Error(f)) => f,
        other => panic!("expected error, got {other:?}"),
    };
    let f = failure(br#"{"type":"error","code":"rate_limit_exceeded","message":"Slow down. Please try again in 28ms.","param":null}"#);
    assert_eq!(f.kind, FailureKind::RateLimited);
    assert_eq!(f.retry_after, Some(std::time::Duration::from_millis(28)));
    let f = failure(br#"{"type":"error","error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1735689600,"resets_in_seconds":3600}}"#);
    assert_eq!(f.kind, FailureKind::RateLimited);
    assert_eq!(f.retry_after, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(f.resets_at, Some(1_735_689_600));
    let f = failure(br#"{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_is_overloaded","message":"busy"}}}"#);
    assert_eq!(f.kind.http_status(), 503);

    let last = |data: &[u8]| run(&[data]).pop();
    assert_eq!(
        last(br#"{"type":"response.incomplete","response":{"id":"r","incomplete_details":{"reason":"content_filter"}}}"#),
        Some(ChatEvent::Finish(FinishReason::ContentFilter))
    );
    assert_eq!(
        last(br#"{"type":"response.incomplete","response":{"id":"r","incomplete_details":{"reason":"max_output_tokens"}}}"#),
        Some(ChatEvent::Finish(FinishReason::Length))
    );
}

#[test]
fn reasoning_block_carries_the_encrypted_content() {
    let events = run(&[
        br#"{"type":"response.output_item.added","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"pre"}}"#,
        br#"{"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"A"},{"type":"summary_text","text":"B"}],"encrypted_content":"gAAAA-final"}}"#,
        br#"{"type":"response.completed","response":{"id":"r"}}"#,
    ]);
    assert!(
        matches!(&events[2], ChatEvent::ReasoningDelta { text, .. } if text.decode() == "A\n\nB")
    );
    assert!(
        matches!(&events[3], ChatEvent::BlockStop { index: 0, encrypted_content: Some(e) } if e.decode() == "gAAAA-final")
    );
}
