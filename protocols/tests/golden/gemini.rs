//! Gemini goldens: every upstream fixture → `<name>.gemini.sse` (`alt=sse`),
//! `<name>.gemini.array.json` (the streamed JSON array) and `<name>.gemini.json` (the
//! `generateContent` fold), whole and in 1/7/64-byte reads; and the framing rule that a Gemini
//! SSE stream holds nothing but `data: <json>` lines and blank lines.

use codex_pipe_protocols::gemini::{Framing, GeminiAggregator, GeminiConfig, GeminiStreamEgress};

use crate::harness::{self, check_all, Answer, FIXTURES, READ_SIZES};

fn config() -> GeminiConfig {
    GeminiConfig {
        model: "gpt-5.4".into(),
    }
}

#[test]
fn golden_gemini_outputs() {
    for name in FIXTURES {
        check_all(name, "gemini.sse", || {
            GeminiStreamEgress::new(config(), Framing::Sse)
        });
        check_array(name);
        check_all(name, "gemini.json", || GeminiAggregator::new(config()));
    }
}

/// The streamed array's exact bytes (a 200), or the error envelope; the same for every read size.
fn check_array(name: &str) {
    let raw = harness::fixture(name);
    let egress = || GeminiStreamEgress::new(config(), Framing::JsonArray);
    let whole = harness::run(&raw, raw.len(), egress());
    let golden = match &whole {
        Answer::Ok(_, body) => body.clone(),
        error => error.golden(),
    };
    harness::check(
        &harness::dir().join(format!("{name}.gemini.array.json")),
        &golden,
    );
    for size in READ_SIZES {
        assert_eq!(
            harness::run(&raw, size, egress()),
            whole,
            "{name} array by {size}"
        );
    }
}

#[test]
fn a_gemini_stream_holds_only_data_lines() {
    for name in FIXTURES {
        let raw = harness::fixture(name);
        for size in READ_SIZES.into_iter().chain([raw.len()]) {
            let Answer::Ok(content_type, body) =
                harness::run(&raw, size, GeminiStreamEgress::new(config(), Framing::Sse))
            else {
                continue;
            };
            assert_eq!(content_type, "text/event-stream");
            let text = String::from_utf8(body).expect("utf-8");
            assert!(text.ends_with("\n\n"), "{name}: {text:?}");
            for line in text.split('\n') {
                if line.is_empty() {
                    continue;
                }
                let json = line
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("{name}: a line that is not data: {line:?}"));
                let v: serde_json::Value = serde_json::from_str(json).expect("one JSON value");
                assert!(
                    v.get("candidates").is_some() || v.get("error").is_some(),
                    "{name}: {v}"
                );
                if let Some(parts) = v["candidates"][0]["content"]["parts"].as_array() {
                    for part in parts {
                        assert_ne!(part["text"], "", "{name}: an empty text part");
                    }
                }
            }
        }
    }
}

#[test]
fn the_array_form_is_one_json_array() {
    for name in FIXTURES {
        let raw = harness::fixture(name);
        if let Answer::Ok(_, body) = harness::run(
            &raw,
            raw.len(),
            GeminiStreamEgress::new(config(), Framing::JsonArray),
        ) {
            let v: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("JSON array");
            assert!(!v.is_empty(), "{name}");
        }
    }
}

#[test]
fn function_calls_carry_the_reasoning_signature_and_object_args() {
    let raw = harness::fixture("tool_call");
    let Answer::Ok(_, body) = harness::run(&raw, 7, GeminiAggregator::new(config())) else {
        panic!("tool_call answers 200");
    };
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let parts = v["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts");
    assert_eq!(parts[0]["thought"], true, "{v}");
    assert!(parts[0].get("thoughtSignature").is_none(), "{v}");
    let call = &parts[1];
    assert!(call["functionCall"]["args"].is_object(), "{v}");
    assert!(call["functionCall"]["id"].as_str().is_some(), "{v}");
    let signature = call["thoughtSignature"].as_str().expect("thoughtSignature");
    let encrypted = codex_pipe_protocols::gemini::signature::decode(signature);
    assert_eq!(
        encrypted.as_deref(),
        Some("gAAAAABo3Kx1Q2xhdWRlIGlzIG5vdCBoZXJlQ2xhdWRlIGlzIG5vdCBoZXJlQ2xhdWRlIGlzIG5vdCBoZXJlQ2xhdWRlIGlzIG5vdCBoZXJl=="),
        "the upstream's encrypted_content, as the ingress reads it back"
    );
}
