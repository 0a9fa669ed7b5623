//! Golden tests: recorded upstream Responses streams (`testdata/responses/*.sse`) through the
//! engine's driver and the same [`Translator`] the server runs, compared byte for byte with the
//! goldens, whole and read 1, 7 and 64 bytes at a time. A golden records what the client gets:
//! the exact body of a 200 answer, or the HTTP error (status, `Retry-After`, body) when the
//! upstream failed before any output. So each case also pins the HTTP-status-versus-in-band
//! decision.
//!
//! | golden | egress |
//! |---|---|
//! | `<name>.chat.sse` | Chat Completions, streaming, `include_usage` |
//! | `<name>.chat.json` | Chat Completions, non-streaming (the fold) |
//! | `<name>.gemini.sse`, `<name>.gemini.array.json`, `<name>.gemini.json` | Gemini: `alt=sse`, the streamed JSON array, `generateContent` ([`gemini`]) |
//! | `<name>.ollama.ndjson`, `<name>.ollama.json`, `<name>.ollama-generate.ndjson` | Ollama: `/api/chat` streamed and not, `/api/generate` streamed ([`ollama`]) |
//! | `<name>.anthropic.sse` / `.anthropic.json` | Anthropic Messages, streaming / the fold ([`anthropic`]) |
//!
//! Regenerate the expected files with `UPDATE_GOLDEN=1 cargo test -p codex-pipe-protocols
//! --test golden`, then review the diff (testdata/responses/README.md).

mod anthropic;
mod gemini;
mod harness;
mod ollama;
mod scaling;
mod translator;

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::SseDecoder;
use codex_pipe_protocols::openai_chat::{
    ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress,
};
use codex_pipe_protocols::responses::{ResponsesIngress, ToolNameMap};
use codex_pipe_protocols::ChatEvent;
use tokio_util::codec::Decoder;

use harness::{check_all, FIXTURES};

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

#[test]
fn golden_chat_outputs() {
    for name in FIXTURES {
        check_all(name, "chat.sse", || ChatStreamEgress::new(config()));
        check_all(
            name,
            "chat.json",
            || ChatCompletionAggregator::new(config()),
        );
    }
}

#[test]
fn a_failure_before_any_content_is_an_http_status_and_after_it_in_band() {
    let raw = harness::fixture("failed_context_length");
    match harness::run(&raw, raw.len(), ChatStreamEgress::new(config())) {
        harness::Answer::Error(e) => assert_eq!(e.status, 400),
        other => panic!("expected a 400, got {other:?}"),
    }
    let raw = harness::fixture("failed_rate_limit");
    match harness::run(&raw, 5, ChatStreamEgress::new(config())) {
        harness::Answer::Error(e) => {
            assert_eq!((e.status.as_u16(), e.retry_after_secs), (429, Some(2)))
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    let raw = harness::fixture("error_event");
    match harness::run(&raw, 3, ChatStreamEgress::new(config())) {
        harness::Answer::Ok(_, body) => {
            let body = String::from_utf8(body).expect("utf-8");
            assert!(body.ends_with("\"code\":\"server_error\"}}\n\n"), "{body}");
            assert!(!body.contains("[DONE]"));
        }
        other => panic!("expected an in-band error, got {other:?}"),
    }
}

#[test]
fn any_read_size_gives_the_same_events() {
    for name in FIXTURES {
        let raw = harness::fixture(name);
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
        let raw = harness::fixture(name);
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
