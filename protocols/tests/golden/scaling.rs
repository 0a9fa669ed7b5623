//! Request work grows linearly with the request: the work for 4n tools is compared with the
//! work for n (not a timed threshold; a quadratic step makes the ratio 16, a linear one 4).

use std::time::{Duration, Instant};

use codex_pipe_protocols::openai_chat::parse_request;
use codex_pipe_protocols::responses::{encode_request, fixup_responses_request};
use serde_json::json;

/// A Chat request with `n` tools whose names are over 64 bytes and collide when cut.
fn chat_body(n: usize) -> Vec<u8> {
    let tools: Vec<_> = (0..n)
        .map(|i| {
            json!({"type": "function", "function": {
                "name": format!("{}_{i}", "t".repeat(70)),
                "parameters": {"type": "object"}}})
        })
        .collect();
    serde_json::to_vec(&json!({"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}], "tools": tools}))
        .expect("JSON")
}

fn responses_body(n: usize) -> Vec<u8> {
    let tools: Vec<_> = (0..n)
        .map(|i| json!({"type": "function", "name": format!("mcp__server__{}_{i}", "x".repeat(70)), "parameters": {"type": "object"}}))
        .collect();
    serde_json::to_vec(&json!({"model": "gpt-5.4", "input": "hi", "tools": tools})).expect("JSON")
}

/// The fastest of three runs of `work`.
fn best_of_three(mut work: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .expect("three runs")
}

fn ratio(n: usize, body: fn(usize) -> Vec<u8>, work: fn(&[u8])) -> f64 {
    let small = body(n);
    let large = body(4 * n);
    let t1 = best_of_three(|| work(&small));
    let t4 = best_of_three(|| work(&large));
    t4.as_secs_f64() / t1.as_secs_f64()
}

#[test]
fn tool_name_mapping_is_linear_in_the_number_of_tools() {
    let chat = ratio(5_000, chat_body, |b| {
        let parsed = parse_request(b).expect("parses");
        encode_request(&parsed.request).expect("encodes");
    });
    let responses = ratio(5_000, responses_body, |b| {
        fixup_responses_request(b).expect("fixes");
    });
    // Linear work gives about 4; allow noise, refuse anything near quadratic (16).
    assert!(chat < 8.0, "chat: 4n tools cost {chat:.1}× n tools");
    assert!(
        responses < 8.0,
        "responses: 4n tools cost {responses:.1}× n tools"
    );
}
