//! Golden tests: recorded upstream Responses streams (`testdata/responses/*.sse`) through
//! `ResponsesIngress` and the Chat egress, compared byte for byte with
//! `*.chat.sse` (streaming, with `include_usage`) and `*.chat.json` (non-streaming).
//!
//! Regenerate the expected files with `UPDATE_GOLDEN=1 cargo test -p codex-pipe-protocols
//! --test golden`, then review the diff (testdata/responses/README.md).

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::SseDecoder;
use codex_pipe_protocols::openai_chat::{
    ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress, OpenAiError,
};
use codex_pipe_protocols::responses::{ResponsesIngress, ToolNameMap};
use codex_pipe_protocols::ChatEvent;
use tokio_util::codec::Decoder;

const FIXTURES: [&str; 11] = [
    "text",
    "reasoning_text",
    "tool_call",
    "parallel_tool_calls",
    "args_on_done",
    "empty_completed_output",
    "minimal_done_only",
    "failed_context_length",
    "failed_rate_limit",
    "incomplete",
    "error_event",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/responses")
}

fn config() -> ChatStreamConfig {
    ChatStreamConfig {
        id: "chatcmpl-golden".into(),
        created: 1_700_000_000,
        model: "gpt-5.4".into(),
        include_usage: true,
    }
}

/// Splits an SSE file into event data payloads with the engine's decoder, feeding it in
/// `chunk`-byte reads so frame boundaries fall everywhere.
fn event_data(raw: &[u8], chunk: usize) -> Vec<Bytes> {
    let mut decoder = SseDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in raw.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(ev) = decoder.decode(&mut buf).expect("valid SSE") {
            out.push(ev.into_data());
        }
    }
    while let Some(ev) = decoder.decode_eof(&mut buf).expect("valid SSE") {
        out.push(ev.into_data());
    }
    out
}

fn canonical_events(raw: &[u8], chunk: usize) -> Vec<ChatEvent> {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut events = Vec::new();
    for data in event_data(raw, chunk) {
        ingress.push(&data, &mut events).expect("well-formed event");
    }
    ingress.finish(&mut events);
    events
}

fn stream_output(events: &[ChatEvent]) -> Vec<u8> {
    let mut egress = ChatStreamEgress::new(config());
    let mut out = BytesMut::new();
    for event in events {
        egress.write(event, &mut out).expect("serializes");
    }
    assert!(
        egress.is_finished(),
        "every fixture ends with a terminal event"
    );
    out.to_vec()
}

/// The non-streaming answer as `{"http_status":…,"retry_after":…,"body":…}`, pretty-printed.
fn unary_output(events: &[ChatEvent]) -> Vec<u8> {
    let mut agg = ChatCompletionAggregator::new(config());
    for event in events {
        agg.push(event);
    }
    let (status, retry_after, body) = match agg.finish() {
        Ok(body) => (200, None, body),
        Err(err) => {
            let e = OpenAiError::from_protocol(&err);
            (e.status, e.retry_after_secs, e.to_json())
        }
    };
    let body: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON body");
    let envelope = serde_json::json!({
        "http_status": status,
        "retry_after": retry_after,
        "body": body,
    });
    let mut text = serde_json::to_string_pretty(&envelope).expect("serializes");
    text.push('\n');
    text.into_bytes()
}

fn check(path: &Path, actual: &[u8], update: bool) {
    if update {
        std::fs::write(path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        expected == actual,
        "{} differs from the output:\n{}",
        path.display(),
        String::from_utf8_lossy(actual)
    );
}

#[test]
fn golden_chat_outputs() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for name in FIXTURES {
        let raw = std::fs::read(dir().join(format!("{name}.sse"))).expect("fixture");
        let events = canonical_events(&raw, raw.len());
        check(
            &dir().join(format!("{name}.chat.sse")),
            &stream_output(&events),
            update,
        );
        check(
            &dir().join(format!("{name}.chat.json")),
            &unary_output(&events),
            update,
        );
    }
}

#[test]
fn any_read_size_gives_the_same_events() {
    for name in FIXTURES {
        let raw = std::fs::read(dir().join(format!("{name}.sse"))).expect("fixture");
        let whole = canonical_events(&raw, raw.len());
        for chunk in [1, 7, 64, 1000] {
            assert_eq!(
                canonical_events(&raw, chunk),
                whole,
                "{name} read by {chunk}"
            );
        }
    }
}

/// Stream grammar of `ChatEvent` (documented on the type): blocks dense, every delta names an
/// open block, every block stopped before `Finish`, `Usage` right before `Finish`.
#[test]
fn fixtures_follow_the_event_grammar() {
    for name in FIXTURES {
        let raw = std::fs::read(dir().join(format!("{name}.sse"))).expect("fixture");
        let events = canonical_events(&raw, raw.len());
        assert!(
            matches!(events.first(), Some(ChatEvent::Start(_))),
            "{name}"
        );
        assert!(events.last().is_some_and(ChatEvent::is_terminal), "{name}");
        let mut open = Vec::new();
        let mut next = 0;
        for (i, event) in events.iter().enumerate() {
            match event {
                ChatEvent::BlockStart { index, .. } => {
                    assert_eq!(*index, next, "{name}: dense block indices");
                    next += 1;
                    open.push(*index);
                }
                ChatEvent::TextDelta { index, .. }
                | ChatEvent::ReasoningDelta { index, .. }
                | ChatEvent::ToolArgumentsDelta { index, .. } => {
                    assert!(open.contains(index), "{name}: delta for closed block")
                }
                ChatEvent::BlockStop { index, .. } => {
                    assert!(open.contains(index), "{name}: stop of closed block");
                    open.retain(|b| b != index);
                }
                ChatEvent::Usage(_) => {
                    assert!(matches!(events.get(i + 1), Some(ChatEvent::Finish(_))))
                }
                ChatEvent::Finish(_) => assert!(open.is_empty(), "{name}: blocks left open"),
                ChatEvent::Start(_) => assert_eq!(i, 0),
                ChatEvent::Error(_) => assert_eq!(i, events.len() - 1),
            }
        }
    }
}
