//! The translator's state machine on real upstream byte streams (the recorded fixtures, cut and
//! spliced): hold-back, commit, the in-band error after commit, the bad-event policy, a premature
//! end, a keep-alive that commits.

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{ByteStreamExt, DriveConfig, SseDecoder, SseEvent, Transcoder};
use codex_pipe_protocols::openai_chat::{
    ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress,
};
use codex_pipe_protocols::responses::ToolNameMap;
use codex_pipe_protocols::{Egress, Translator, UpstreamFailure};
use futures::StreamExt;

use crate::harness::{fixture, run, run_with, Answer};

fn chat() -> ChatStreamEgress {
    ChatStreamEgress::new(ChatStreamConfig {
        id: "chatcmpl-t".into(),
        created: 1,
        model: "gpt-5.4".into(),
        include_usage: false,
    })
}

fn fold() -> ChatCompletionAggregator {
    ChatCompletionAggregator::new(ChatStreamConfig {
        id: "chatcmpl-t".into(),
        created: 1,
        model: "gpt-5.4".into(),
        include_usage: false,
    })
}

/// The SSE blocks of a fixture (each with its blank line).
fn blocks(name: &str) -> Vec<String> {
    let text = String::from_utf8(fixture(name)).expect("utf-8");
    text.split_inclusive("\n\n").map(str::to_owned).collect()
}

/// The blocks of `name` whose `event:` line is not one of `drop`.
fn without(name: &str, drop: &[&str]) -> Vec<String> {
    blocks(name)
        .into_iter()
        .filter(|b| !drop.iter().any(|d| b.starts_with(&format!("event: {d}\n"))))
        .collect()
}

fn body_of(answer: Answer) -> String {
    match answer {
        Answer::Ok(_, body) => String::from_utf8(body).expect("utf-8"),
        Answer::Error(e) => panic!("expected a 200 answer, got {e:?}"),
    }
}

fn event(data: &'static [u8]) -> SseEvent {
    SseEvent::new(None, Bytes::from_static(data))
}

#[test]
fn metadata_is_held_back_until_the_first_content_event() {
    let mut t = Translator::new(ToolNameMap::default(), chat());
    let mut out = BytesMut::new();
    t.on_frame(
        event(br#"{"type":"response.created","response":{"id":"r"}}"#),
        &mut out,
    )
    .expect("created");
    t.on_frame(
        event(br#"{"type":"response.in_progress","response":{"id":"r"}}"#),
        &mut out,
    )
    .expect("in progress");
    assert!(out.is_empty() && !t.is_committed());
    t.on_frame(
        event(
            br#"{"type":"response.output_text.delta","item_id":"m","output_index":0,"delta":"Hi"}"#,
        ),
        &mut out,
    )
    .expect("delta");
    assert!(t.is_committed());
    let text = std::str::from_utf8(&out).expect("utf-8");
    assert!(
        text.contains(r#""role":"assistant""#) && text.contains(r#""content":"Hi""#),
        "{text}"
    );
}

#[test]
fn a_failure_after_commit_is_one_in_band_error_and_nothing_after_it() {
    // The text fixture's content, then an `error` event, then a `response.completed` that must
    // be ignored.
    let mut stream = without("text", &["response.completed"]).concat();
    stream.push_str(
        &blocks("error_event")
            .into_iter()
            .find(|b| b.starts_with("event: error\n"))
            .expect("error block"),
    );
    stream.push_str(blocks("text").last().expect("completed"));
    let body = body_of(run(stream.as_bytes(), 9, chat()));
    assert_eq!(body.matches(r#"{"error":"#).count(), 1, "{body}");
    assert!(body.ends_with("\"code\":\"server_error\"}}\n\n"), "{body}");
    assert!(
        !body.contains("[DONE]") && !body.contains("finish_reason\":\"stop"),
        "{body}"
    );
}

#[test]
fn a_premature_end_is_in_band_after_content_and_a_504_for_a_fold() {
    let cut = without("text", &["response.completed"]).concat();
    let body = body_of(run(cut.as_bytes(), 13, chat()));
    assert!(body.ends_with("\"code\":\"stream_closed\"}}\n\n"), "{body}");
    match run(cut.as_bytes(), 13, fold()) {
        Answer::Error(e) => assert_eq!(e.status, 504),
        other => panic!("expected 504, got {other:?}"),
    }
    // Nothing at all from the upstream: an HTTP error, streamed or not.
    match run(b"", 1, chat()) {
        Answer::Error(e) => assert_eq!(e.status, 504),
        other => panic!("expected 504, got {other:?}"),
    }
}

#[test]
fn malformed_and_oversized_events_are_skipped_and_a_malformed_terminal_event_ends_the_answer() {
    let whole = body_of(run(&fixture("text"), 64, chat()));
    // A malformed delta and an oversized one spliced in after the first delta: skipped.
    let mut spliced = String::new();
    for (i, block) in blocks("text").into_iter().enumerate() {
        spliced.push_str(&block);
        if i == 4 {
            spliced.push_str("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\n\n");
            spliced.push_str(&format!(
                "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"x\",\"delta\":\"{}\"}}\n\n",
                "y".repeat(8000)
            ));
        }
    }
    let pieces: Vec<Result<Bytes, UpstreamFailure>> = spliced
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let translator = Translator::new(ToolNameMap::default(), chat());
    let out: Vec<_> = futures::executor::block_on(
        futures::stream::iter(pieces)
            .transcode(
                SseDecoder::with_max_event_bytes(4096),
                translator,
                DriveConfig::default(),
            )
            .collect::<Vec<_>>(),
    );
    let body: Vec<u8> = out
        .into_iter()
        .flat_map(|c| c.expect("no failure").to_vec())
        .collect();
    assert_eq!(String::from_utf8(body).expect("utf-8"), whole);

    // A malformed `response.completed`: the answer cannot complete; in-band after content.
    let mut broken = without("text", &["response.completed"]).concat();
    broken.push_str(
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":\n\n",
    );
    let body = body_of(run(broken.as_bytes(), 64, chat()));
    assert!(
        body.ends_with("\"code\":\"malformed_upstream_event\"}}\n\n"),
        "{body}"
    );
}

#[test]
fn an_oversized_terminal_event_is_named_in_the_error() {
    // The answer's `response.completed` is over the decoder's limit, so it is skipped and the
    // stream ends without a terminal event: the error says why, streamed or folded.
    let mut stream = without("text", &["response.completed"]).concat();
    stream.push_str(&format!(
        "event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{{\"id\":\"r\",\"instructions\":\"{}\"}}}}\n\n",
        "z".repeat(8000)
    ));
    let body = body_of(run_with(
        stream.as_bytes(),
        64,
        SseDecoder::with_max_event_bytes(4096),
        chat(),
    ));
    assert!(
        body.ends_with("\"code\":\"upstream_event_too_large\"}}\n\n"),
        "{body}"
    );
    match run_with(
        stream.as_bytes(),
        64,
        SseDecoder::with_max_event_bytes(4096),
        fold(),
    ) {
        Answer::Error(e) => {
            assert_eq!(e.status, 502);
            let v: serde_json::Value = serde_json::from_slice(&e.body).expect("json");
            assert_eq!(v["error"]["code"], "upstream_event_too_large", "{v}");
        }
        other => panic!("expected a 502, got {other:?}"),
    }
    // Without the skipped event, the same cut stream is a plain premature close.
    match run(
        without("text", &["response.completed"]).concat().as_bytes(),
        64,
        fold(),
    ) {
        Answer::Error(e) => assert_eq!(e.status, 504),
        other => panic!("expected a 504, got {other:?}"),
    }
}

#[test]
fn a_keep_alive_commits_so_a_later_failure_is_in_band() {
    let mut t = Translator::new(ToolNameMap::default(), chat());
    let mut out = BytesMut::new();
    t.on_frame(
        event(br#"{"type":"response.created","response":{"id":"r"}}"#),
        &mut out,
    )
    .expect("created");
    let frame = Bytes::from_static(chat().keep_alive().expect("chat has a keep-alive"));
    t.on_keep_alive(&frame, &mut out);
    assert!(t.is_committed());
    assert!(out.ends_with(b": keep-alive\n\n"));
    out.clear();
    t.on_frame(
        event(br#"{"type":"response.failed","response":{"error":{"code":"rate_limit_exceeded","message":"slow down"}}}"#),
        &mut out,
    )
    .expect("failed");
    let text = std::str::from_utf8(&out).expect("utf-8");
    assert!(text.contains(r#""code":"rate_limit_exceeded""#), "{text}");
    assert!(t.pending().is_none());

    // A fold never commits and never writes a keep-alive.
    let mut t = Translator::new(ToolNameMap::default(), fold());
    let mut out = BytesMut::new();
    t.on_keep_alive(&frame, &mut out);
    assert!(out.is_empty() && !t.is_committed());
}
