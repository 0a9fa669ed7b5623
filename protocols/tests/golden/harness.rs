//! Runs a recorded upstream stream through the engine's driver and a [`Translator`] exactly as
//! the server does (first chunk → 200 and the body; failure before the first chunk → the
//! protocol's HTTP error), and compares the result with a golden file.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{ByteStreamExt, DriveConfig, SseDecoder};
use codex_pipe_protocols::responses::ToolNameMap;
use codex_pipe_protocols::{Egress, ErrorResponse, Translator, UpstreamFailure};
use futures::StreamExt;

/// The upstream fixtures of `testdata/responses`.
pub const FIXTURES: [&str; 11] = [
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

/// Read sizes every fixture is also fed in.
pub const READ_SIZES: [usize; 3] = [1, 7, 64];

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/responses")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(format!("{name}.sse"))).expect("fixture")
}

/// What a client receives: a 200 with the body, or an error answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: content type and body.
    Ok(&'static str, Vec<u8>),
    Error(ErrorResponse),
}

impl Answer {
    /// The golden form: a 200 stream as is (the exact bytes); a JSON answer and an error as
    /// `{"http_status","retry_after","body"}` pretty-printed with sorted keys.
    pub fn golden(&self) -> Vec<u8> {
        match self {
            Answer::Ok("application/json", body) => envelope(200, None, body),
            Answer::Ok(_, body) => body.clone(),
            Answer::Error(e) => envelope(e.status.as_u16(), e.retry_after_secs, &e.body),
        }
    }
}

/// `{"http_status","retry_after","body"}`, pretty-printed, for a JSON body.
pub fn envelope(status: u16, retry_after: Option<u64>, body: &[u8]) -> Vec<u8> {
    let body: serde_json::Value = serde_json::from_slice(body).expect("valid JSON body");
    let envelope = serde_json::json!({
        "http_status": status,
        "retry_after": retry_after,
        "body": body,
    });
    let mut text = serde_json::to_string_pretty(&envelope).expect("serializes");
    text.push('\n');
    text.into_bytes()
}

/// Runs `raw` (read `chunk` bytes at a time) through a translator with `egress`.
pub fn run<E: Egress>(raw: &[u8], chunk: usize, egress: E) -> Answer {
    run_with(raw, chunk, SseDecoder::new(), egress)
}

/// [`run`] with a given SSE decoder (a small event limit, for instance).
pub fn run_with<E: Egress>(raw: &[u8], chunk: usize, decoder: SseDecoder, egress: E) -> Answer {
    let pieces: Vec<Result<Bytes, UpstreamFailure>> = raw
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let translator = Translator::new(ToolNameMap::default(), egress);
    let drive =
        futures::stream::iter(pieces).transcode(decoder, translator, DriveConfig::default());
    futures::executor::block_on(async move {
        let mut drive = Box::pin(drive);
        let mut body = BytesMut::new();
        while let Some(item) = drive.next().await {
            match item {
                Ok(bytes) => body.extend_from_slice(&bytes),
                Err(err) => {
                    let mut tail = BytesMut::new();
                    match drive.as_mut().transcoder_mut().fail(&err, &mut tail) {
                        Some(error) if body.is_empty() => {
                            let protocol = drive.transcoder().egress().protocol();
                            return Answer::Error(protocol.error_response(&error));
                        }
                        _ => body.extend_from_slice(&tail),
                    }
                }
            }
        }
        if body.is_empty() {
            let t = drive.transcoder();
            return Answer::Error(
                t.egress()
                    .protocol()
                    .error_response(&t.failure_before_output()),
            );
        }
        Answer::Ok(drive.transcoder().egress().content_type(), body.to_vec())
    })
}

/// Compares `actual` with the golden file `path` (or writes it with `UPDATE_GOLDEN=1`).
pub fn check(path: &Path, actual: &[u8]) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
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

/// Checks one fixture against `<name>.<suffix>` for the whole stream and every read size.
pub fn check_all<E: Egress>(name: &str, suffix: &str, egress: impl Fn() -> E) {
    let raw = fixture(name);
    let whole = run(&raw, raw.len(), egress());
    check(&dir().join(format!("{name}.{suffix}")), &whole.golden());
    for size in READ_SIZES {
        assert_eq!(
            run(&raw, size, egress()),
            whole,
            "{name}.{suffix} read {size} bytes at a time"
        );
    }
}
