//! OpenAI audio transcriptions, `POST /v1/audio/transcriptions` (and the alias
//! `POST /audio/transcriptions`), served by the ChatGPT dictation endpoint
//! (protocols.md §3, §4e; clients.md §6).
//!
//! ```text
//! client multipart ─► form::read_form ──text fields──► FileStart ─┐
//!                          │                                      ▼ (one of `--concurrency` permits)
//!                          └──`file` chunks──► bounded channel ─► BodyReader ─► Transcriber::transcribe
//!                                                                  (codec pipeline, streaming upload)
//! transcript + measured duration ─► whisper::Rendered::render(response_format)
//! ```
//!
//! Both halves run concurrently in the request's task, so the upload streams from the client
//! through the codec pipeline to the upstream without being buffered whole. The upstream permit
//! is taken only once the `file` part begins, so a slow uploader holds none. Errors are mapped
//! in [`crate::server::error`] and rendered in the OpenAI shape.

pub mod form;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use codex_pipe_codecs::Input;
use codex_pipe_protocols::whisper::{Rendered, TimedText};
use codex_pipe_protocols::{ApiError, FailureKind, Protocol};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use self::form::{
    too_large, BodyChunk, BodyReader, FileStart, FormLimits, BODY_CHANNEL_CHUNKS, MAX_OTHER_BYTES,
};
use crate::server::error::{transcribe_error, Rejection};
use crate::server::AppState;
use crate::transcribe::{self as segmented, SegmentSettings, SegmentedError, Transcript};
use crate::upstream::transcribe::TranscribeRequest;

/// The OpenAI route.
pub const PATH: &str = "/v1/audio/transcriptions";
/// The same route without `/v1`, for clients configured with a base URL that lacks it.
pub const ALIAS_PATH: &str = "/audio/transcriptions";

/// The routes of this surface. The body size is enforced by [`form::read_form`] (per part), so
/// axum's default body limit is lifted here.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, post(handle))
        .route(ALIAS_PATH, post(handle))
        .layer(DefaultBodyLimit::disable())
}

fn reject(error: ApiError) -> Response {
    Rejection::new(Protocol::OpenAi, error).into_response()
}

async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let limits = FormLimits {
        max_file_bytes: state.config.max_upload_bytes,
    };
    if let Some(e) = early_size_rejection(&headers, limits) {
        return reject(e);
    }
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(r) => {
            return reject(
                ApiError::new(
                    FailureKind::InvalidRequest,
                    format!("expected a multipart/form-data body: {}", r.body_text()),
                )
                .with_code("invalid_multipart"),
            )
        }
    };
    let (start_tx, start_rx) = oneshot::channel();
    let (body_tx, body_rx) = mpsc::channel(BODY_CHANNEL_CHUNKS);
    // A form that fails (too large, malformed, cut off) cancels the upstream half at once:
    // segments already cut are not uploaded for a request that is answered with an error.
    let failed = CancellationToken::new();
    let (read, transcribed) = tokio::join!(
        form::read_form(&mut multipart, limits, start_tx, body_tx, &failed),
        failed.run_until_cancelled(transcribe(&state, start_rx, body_rx))
    );
    let transcribed = transcribed.flatten();
    let read = match read {
        Ok(read) => read,
        Err(e) => return reject(e),
    };
    match transcribed {
        _ if !read.had_file => reject(
            ApiError::new(
                FailureKind::InvalidRequest,
                "the multipart body has no `file` part: send the audio as the `file` field",
            )
            .with_code("missing_required_parameter")
            .with_param("file"),
        ),
        Some(Ok(t)) => {
            tracing::info!(
                format = ?read.fields.response_format,
                duration_seconds = ?t.duration_seconds,
                segments = t.segments.len(),
                "transcriptions: ok"
            );
            let text = t.text();
            let timed: Vec<TimedText<'_>> = t
                .segments
                .iter()
                .map(|s| TimedText {
                    start: s.start,
                    end: s.end,
                    text: &s.text,
                })
                .collect();
            let rendered = Rendered {
                text: &text,
                duration_seconds: t.duration_seconds.unwrap_or(0.0),
                segments: &timed,
            };
            match rendered.render(&read.fields) {
                Ok(body) => {
                    let mut response = body.bytes.into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(body.content_type),
                    );
                    response
                }
                Err(e) => reject(ApiError::from(e)),
            }
        }
        Some(Err(SegmentedError::Request(e))) => reject(transcribe_error(&e)),
        // Part of the audio could not be transcribed: the answer would be missing words, so it
        // is an error that names what failed.
        Some(Err(e @ SegmentedError::Partial { .. })) => reject(
            ApiError::new(FailureKind::ServerError, e.to_string()).with_code("upstream_error"),
        ),
        None => reject(ApiError::new(
            FailureKind::Internal,
            "the transcription did not start",
        )),
    }
}

/// The upstream half: wait for the `file` part, take a concurrency permit, transcribe.
/// `None` when the form ended (or failed) before a `file` part.
async fn transcribe(
    state: &AppState,
    start: oneshot::Receiver<FileStart>,
    body: mpsc::Receiver<BodyChunk>,
) -> Option<Result<Transcript, SegmentedError>> {
    let FileStart { fields } = start.await.ok()?;
    // Long audio is cut at pauses and its segments uploaded in parallel; every upload holds
    // one of the `--concurrency` permits while it runs.
    let settings = SegmentSettings {
        limit: Some(state.upstream_permits.clone()),
        ..SegmentSettings::default()
    };
    let request = TranscribeRequest {
        input: Input::stream(BodyReader::new(body)),
        options: state.config.transcode.clone(),
        language: fields.language,
        // The bytes decide the container; what was uploaded is named after the plan.
        filename: None,
        content_type: None,
        want_duration: true,
        progress: None,
    };
    Some(segmented::transcribe(&state.transcriber, request, &settings).await)
}

/// 413 before reading anything, when `Content-Length` announces more than the form can hold
/// and either the client waits for `100 Continue` (so it has sent nothing yet) or the body is
/// larger than what [`form::read_form`] would drain anyway.
fn early_size_rejection(headers: &HeaderMap, limits: FormLimits) -> Option<ApiError> {
    let length: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cap = limits.max_file_bytes.saturating_add(MAX_OTHER_BYTES);
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let beyond_drain = length > cap.saturating_add(limits.max_file_bytes);
    (length > cap && (expects_continue || beyond_drain)).then(|| too_large(limits.max_file_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn early_rejection_only_for_announced_oversize_bodies() {
        let limits = FormLimits {
            max_file_bytes: 1_000_000,
        };
        let mut h = HeaderMap::new();
        // Over the limit plus 1 MiB of form overhead, within what is drained: read it.
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("2500000"));
        assert!(early_size_rejection(&h, limits).is_none());
        h.insert(header::EXPECT, HeaderValue::from_static("100-continue"));
        let e = early_size_rejection(&h, limits).expect("waits for 100 Continue: reject now");
        assert_eq!(e.http_status().as_u16(), 413);
        h.remove(header::EXPECT);
        h.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from_static("900000000"),
        );
        assert!(early_size_rejection(&h, limits).is_some());
        // Under the limit with room for the fields: never rejected early, even with Expect.
        h.insert(header::EXPECT, HeaderValue::from_static("100-continue"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1500000"));
        assert!(early_size_rejection(&h, limits).is_none());
    }
}
