//! Translation throughput: upstream Responses event data → `ChatEvent`s → Chat Completions
//! chunk bytes, in events per second (`Throughput::Elements`).
//!
//! The corpus is one long upstream answer built here: a reasoning item with 200 summary
//! deltas, a message with 4,000 text deltas (with the `logprobs` / `obfuscation` noise the
//! backend adds, some escapes and non-ASCII), two tool calls with 60 argument deltas, and the
//! lifecycle events, about 4,300 event payloads in all.
//!
//! * `translation/chat_stream`: `ResponsesIngress::push` + `ChatStreamEgress::write`, output
//!   into one `BytesMut` (the proxy's hot path).
//! * `translation/anthropic_stream`: `ResponsesIngress::push` + `MessagesStreamEgress`
//!   (Anthropic Messages SSE, named events, the signed thinking signature), the `/v1/messages`
//!   hot path.
//! * `translation/anthropic_aggregate`: ingress + `MessagesAggregator` (non-streaming).
//! * `translation/ingress_only`: `ResponsesIngress::push` alone.
//! * `translation/chat_aggregate`: ingress + `ChatCompletionAggregator` (non-streaming).
//! * `translation/gemini_stream`: ingress + `GeminiStreamEgress` (`alt=sse` chunks).
//! * `translation/ollama_stream`: ingress + `OllamaStreamEgress` (`/api/chat` NDJSON lines,
//!   with `think`).
//! * `translation/baseline_value_roundtrip`: the naive approach on the same payloads,
//!   `serde_json::from_slice::<Value>` + `serde_json::to_vec`, with no translation at all.
//!
//! Run: `cargo bench -p codex-pipe-benches --bench translation`
//! (add `-- --warm-up-time 1 --measurement-time 3` for a quicker run).

use std::hint::black_box;

use bytes::BytesMut;
use codex_pipe_protocols::anthropic::{
    MessagesAggregator, MessagesConfig, MessagesStreamEgress, SignatureKey,
};
use codex_pipe_protocols::gemini::{Framing, GeminiConfig, GeminiStreamEgress};
use codex_pipe_protocols::ollama::{Endpoint, OllamaConfig, OllamaStreamEgress};
use codex_pipe_protocols::openai_chat::{
    ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress,
};
use codex_pipe_protocols::responses::{ResponsesIngress, ToolNameMap};
use codex_pipe_protocols::Egress;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const WORDS: [&str; 12] = [
    "The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    " — café",
    " \"quoted\"",
    ",\n",
];

/// The `data` payloads of one upstream response, in order.
fn corpus() -> Vec<Vec<u8>> {
    let mut seq = 0u32;
    let mut out = Vec::new();
    let mut push = |v: serde_json::Value| {
        let mut v = v;
        v["sequence_number"] = seq.into();
        seq += 1;
        out.push(serde_json::to_vec(&v).expect("serializes"));
    };
    let resp = serde_json::json!({"id":"resp_1","object":"response","created_at":1758982136,
        "status":"in_progress","model":"gpt-5.4","output":[],"usage":null});
    push(serde_json::json!({"type":"response.created","response":resp}));
    push(serde_json::json!({"type":"response.in_progress","response":resp}));
    push(
        serde_json::json!({"type":"response.output_item.added","output_index":0,
        "item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAA"}}),
    );
    push(
        serde_json::json!({"type":"response.reasoning_summary_part.added","item_id":"rs_1",
        "output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}),
    );
    for i in 0..200 {
        push(
            serde_json::json!({"type":"response.reasoning_summary_text.delta","item_id":"rs_1",
            "output_index":0,"summary_index":0,"delta":WORDS[i % WORDS.len()],"obfuscation":"abc"}),
        );
    }
    push(
        serde_json::json!({"type":"response.output_item.done","output_index":0,
        "item":{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAA".repeat(200)}}),
    );
    push(
        serde_json::json!({"type":"response.output_item.added","output_index":1,
        "item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}}),
    );
    push(
        serde_json::json!({"type":"response.content_part.added","item_id":"msg_1","output_index":1,
        "content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}),
    );
    for i in 0..4000 {
        push(
            serde_json::json!({"type":"response.output_text.delta","item_id":"msg_1",
            "output_index":1,"content_index":0,"delta":WORDS[i % WORDS.len()],"logprobs":[],
            "obfuscation":"k3Jd9"}),
        );
    }
    push(
        serde_json::json!({"type":"response.output_item.done","output_index":1,
        "item":{"id":"msg_1","type":"message","role":"assistant","status":"completed",
        "content":[{"type":"output_text","text":"…","annotations":[]}]}}),
    );
    for (oi, id) in [(2, "fc_1"), (3, "fc_2")] {
        push(
            serde_json::json!({"type":"response.output_item.added","output_index":oi,
            "item":{"id":id,"type":"function_call","call_id":format!("call_{id}"),
            "name":"get_weather","arguments":""}}),
        );
        for d in ["{\"city\":", "\"Paris\"", ",\"unit\":\"c\"}"]
            .iter()
            .cycle()
            .take(30)
        {
            push(
                serde_json::json!({"type":"response.function_call_arguments.delta","item_id":id,
                "output_index":oi,"delta":d}),
            );
        }
        push(
            serde_json::json!({"type":"response.output_item.done","output_index":oi,
            "item":{"id":id,"type":"function_call","call_id":format!("call_{id}"),
            "name":"get_weather","arguments":"{}"}}),
        );
    }
    push(
        serde_json::json!({"type":"response.completed","response":{"id":"resp_1",
        "status":"completed","output":[],"usage":{"input_tokens":1200,
        "input_tokens_details":{"cached_tokens":1024},"output_tokens":4300,
        "output_tokens_details":{"reasoning_tokens":200},"total_tokens":5500}}}),
    );
    out
}

fn config() -> ChatStreamConfig {
    ChatStreamConfig {
        id: "chatcmpl-bench".into(),
        created: 1_700_000_000,
        model: "gpt-5.4".into(),
        include_usage: true,
    }
}

fn chat_stream(corpus: &[Vec<u8>], out: &mut BytesMut) -> usize {
    out.clear();
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut egress = ChatStreamEgress::new(config());
    let mut events = Vec::with_capacity(8);
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        for event in events.drain(..) {
            egress.write(&event, out).expect("serializes");
        }
    }
    out.len()
}

fn anthropic_config() -> MessagesConfig {
    MessagesConfig {
        id: "msg_bench".into(),
        model: "claude-sonnet-4-6".into(),
        signatures: SignatureKey::new(b"bench key"),
    }
}

fn anthropic_stream(corpus: &[Vec<u8>], out: &mut BytesMut) -> usize {
    out.clear();
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut egress = MessagesStreamEgress::new(anthropic_config());
    let mut events = Vec::with_capacity(8);
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        for event in events.drain(..) {
            egress.write(&event, out).expect("serializes");
        }
    }
    out.len()
}

fn anthropic_aggregate(corpus: &[Vec<u8>]) -> usize {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut agg = MessagesAggregator::new(anthropic_config());
    let mut events = Vec::with_capacity(8);
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        for event in events.drain(..) {
            agg.push(&event);
        }
    }
    agg.finish().expect("completed").len()
}

fn ingress_only(corpus: &[Vec<u8>]) -> usize {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut events = Vec::with_capacity(8);
    let mut n = 0;
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        n += events.len();
        for event in events.drain(..) {
            black_box(event);
        }
    }
    n
}

fn chat_aggregate(corpus: &[Vec<u8>]) -> usize {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut agg = ChatCompletionAggregator::new(config());
    let mut events = Vec::with_capacity(8);
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        for event in events.drain(..) {
            agg.push(&event);
        }
    }
    agg.finish().expect("completed").len()
}

/// Ingress + any streaming egress, output into one `BytesMut`.
fn egress_stream<E: Egress>(corpus: &[Vec<u8>], mut egress: E, out: &mut BytesMut) -> usize {
    out.clear();
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut events = Vec::with_capacity(8);
    for data in corpus {
        ingress.push(data, &mut events).expect("corpus is valid");
        for event in events.drain(..) {
            egress.write(&event, out).expect("serializes");
        }
    }
    out.len()
}

fn gemini() -> GeminiStreamEgress {
    GeminiStreamEgress::new(
        GeminiConfig {
            model: "gpt-5.4".into(),
        },
        Framing::Sse,
    )
}

fn ollama() -> OllamaStreamEgress {
    OllamaStreamEgress::new(OllamaConfig {
        endpoint: Endpoint::Chat,
        model: "gpt-5.4".into(),
        created_at: "2026-01-01T00:00:00.000000000Z".into(),
        think: true,
        started: Some(std::time::Instant::now()),
    })
}

fn baseline_value_roundtrip(corpus: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for data in corpus {
        let value: serde_json::Value = serde_json::from_slice(data).expect("valid JSON");
        n += serde_json::to_vec(&value).expect("serializes").len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    // Sanity: the hot path produces a complete Chat stream.
    let mut out = BytesMut::with_capacity(1 << 20);
    chat_stream(&corpus, &mut out);
    assert!(out.ends_with(b"data: [DONE]\n\n"));
    anthropic_stream(&corpus, &mut out);
    assert!(out.ends_with(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

    let mut group = c.benchmark_group("translation");
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.bench_function("chat_stream", |b| {
        b.iter(|| black_box(chat_stream(&corpus, &mut out)))
    });
    group.bench_function("anthropic_stream", |b| {
        b.iter(|| black_box(anthropic_stream(&corpus, &mut out)))
    });
    group.bench_function("anthropic_aggregate", |b| {
        b.iter(|| black_box(anthropic_aggregate(&corpus)))
    });
    group.bench_function("ingress_only", |b| {
        b.iter(|| black_box(ingress_only(&corpus)))
    });
    group.bench_function("chat_aggregate", |b| {
        b.iter(|| black_box(chat_aggregate(&corpus)))
    });
    egress_stream(&corpus, gemini(), &mut out);
    assert!(out.windows(13).any(|w| w == b"finishReason\""));
    group.bench_function("gemini_stream", |b| {
        b.iter(|| black_box(egress_stream(&corpus, gemini(), &mut out)))
    });
    egress_stream(&corpus, ollama(), &mut out);
    assert!(out.ends_with(b"}\n") && out.windows(11).any(|w| w == b"\"done\":true"));
    group.bench_function("ollama_stream", |b| {
        b.iter(|| black_box(egress_stream(&corpus, ollama(), &mut out)))
    });
    group.bench_function("baseline_value_roundtrip", |b| {
        b.iter(|| black_box(baseline_value_roundtrip(&corpus)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
