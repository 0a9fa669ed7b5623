//! Anthropic Messages goldens: every upstream fixture → `<name>.anthropic.sse` (the exact
//! streamed body, or the HTTP error before commit) and `<name>.anthropic.json` (the fold),
//! whole and in 1/7/64-byte reads. Thinking signatures are made with a fixed test key, so
//! they are stable bytes.

use codex_pipe_protocols::anthropic::{
    MessagesAggregator, MessagesConfig, MessagesStreamEgress, SignatureKey,
};

use super::harness::{self, check_all, Answer, FIXTURES};

fn config() -> MessagesConfig {
    MessagesConfig {
        id: "msg_golden".into(),
        model: "claude-sonnet-4-6".into(),
        signatures: SignatureKey::new(b"golden test key"),
    }
}

/// Fixtures only the Anthropic goldens cover (a hosted web search, which Chat does not show).
const ANTHROPIC_ONLY: [&str; 1] = ["web_search"];

#[test]
fn golden_anthropic_outputs() {
    for name in FIXTURES.into_iter().chain(ANTHROPIC_ONLY) {
        check_all(
            name,
            "anthropic.sse",
            || MessagesStreamEgress::new(config()),
        );
        check_all(name, "anthropic.json", || MessagesAggregator::new(config()));
    }
}

/// The structural rules the SDKs and Claude Code depend on (clients.md §3.2, §7 item 4), on
/// every streamed golden: each `data:` has its `event:` line equal to its `type`; block indices
/// are dense from 0 and blocks never interleave; a completed stream ends with `message_delta`
/// (with `usage.output_tokens`) then `message_stop`; an in-band failure is one `event: error`.
#[test]
fn streams_keep_the_anthropic_rules() {
    for name in FIXTURES.into_iter().chain(ANTHROPIC_ONLY) {
        let raw = harness::fixture(name);
        let Answer::Ok(_, body) =
            harness::run(&raw, raw.len(), MessagesStreamEgress::new(config()))
        else {
            continue;
        };
        let text = String::from_utf8(body).expect("utf-8");
        let mut types = Vec::new();
        let mut open: Option<u64> = None;
        let mut next = 0;
        for frame in text.split_terminator("\n\n") {
            let (event, data) = frame
                .strip_prefix("event: ")
                .and_then(|f| f.split_once("\ndata: "))
                .unwrap_or_else(|| panic!("{name}: frame without event line: {frame:?}"));
            let v: serde_json::Value = serde_json::from_str(data).expect("json");
            assert_eq!(v["type"], event, "{name}");
            match event {
                "content_block_start" => {
                    assert_eq!(open, None, "{name}: interleaved blocks");
                    assert_eq!(v["index"], next, "{name}: dense indices");
                    open = Some(next);
                    next += 1;
                }
                "content_block_delta" => assert_eq!(v["index"].as_u64(), open, "{name}"),
                "content_block_stop" => {
                    assert_eq!(v["index"].as_u64(), open, "{name}");
                    open = None;
                }
                "message_delta" => assert!(v["usage"]["output_tokens"].is_u64(), "{name}"),
                _ => {}
            }
            types.push(event.to_owned());
        }
        assert_eq!(types[0], "message_start", "{name}");
        let last = types.last().map(String::as_str);
        if last == Some("error") {
            assert_eq!(types.iter().filter(|t| *t == "error").count(), 1, "{name}");
        } else {
            assert_eq!(
                &types[types.len() - 2..],
                ["message_delta", "message_stop"],
                "{name}"
            );
        }
    }
}
