//! Ollama goldens: every upstream fixture → `<name>.ollama.ndjson` (`/api/chat` streamed, with
//! `think`), `<name>.ollama.json` (`"stream": false`) and `<name>.ollama-generate.ndjson`
//! (`/api/generate` streamed), whole and in 1/7/64-byte reads; and the framing rule that an
//! Ollama stream is one JSON object per line, never a blank line, ending with `done:true` or
//! an `error` line.

use codex_pipe_protocols::ollama::{Endpoint, OllamaAggregator, OllamaConfig, OllamaStreamEgress};

use crate::harness::{self, check_all, Answer, FIXTURES, READ_SIZES};

fn config(endpoint: Endpoint) -> OllamaConfig {
    OllamaConfig {
        endpoint,
        model: "gpt-5.4".into(),
        created_at: "2026-01-01T00:00:00.000000000Z".into(),
        think: true,
        started: None,
    }
}

#[test]
fn golden_ollama_outputs() {
    for name in FIXTURES {
        check_all(name, "ollama.ndjson", || {
            OllamaStreamEgress::new(config(Endpoint::Chat))
        });
        check_all(name, "ollama.json", || {
            OllamaAggregator::new(config(Endpoint::Chat))
        });
        check_all(name, "ollama-generate.ndjson", || {
            OllamaStreamEgress::new(config(Endpoint::Generate))
        });
    }
}

#[test]
fn an_ollama_stream_has_no_blank_line() {
    for name in FIXTURES {
        let raw = harness::fixture(name);
        for size in READ_SIZES.into_iter().chain([raw.len()]) {
            for endpoint in [Endpoint::Chat, Endpoint::Generate] {
                let Answer::Ok(content_type, body) =
                    harness::run(&raw, size, OllamaStreamEgress::new(config(endpoint)))
                else {
                    continue;
                };
                assert_eq!(content_type, "application/x-ndjson");
                let text = String::from_utf8(body).expect("utf-8");
                let lines: Vec<&str> = text
                    .strip_suffix('\n')
                    .unwrap_or_else(|| panic!("{name}: no final newline"))
                    .split('\n')
                    .collect();
                let mut last = serde_json::Value::Null;
                for line in &lines {
                    assert!(!line.trim().is_empty(), "{name}: a blank line in {text:?}");
                    last = serde_json::from_str(line).expect("one JSON object per line");
                }
                assert!(
                    last["done"] == true || last["error"].is_string(),
                    "{name}: ends with {last}"
                );
                if last["done"] == true {
                    assert!(last["done_reason"].is_string(), "{name}");
                }
            }
        }
    }
}

#[test]
fn tool_call_arguments_are_objects() {
    let raw = harness::fixture("parallel_tool_calls");
    let Answer::Ok(_, body) = harness::run(&raw, 7, OllamaAggregator::new(config(Endpoint::Chat)))
    else {
        panic!("parallel_tool_calls answers 200");
    };
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let calls = v["message"]["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(calls.len(), 2, "{v}");
    assert!(
        calls.iter().all(|c| c["function"]["arguments"].is_object()),
        "{v}"
    );
}
