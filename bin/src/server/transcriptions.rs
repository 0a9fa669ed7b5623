//! OpenAI audio transcriptions, `POST /v1/audio/transcriptions` (and the alias
//! `POST /audio/transcriptions`), served by the ChatGPT dictation endpoint
//! (protocols.md §3, §4e; clients.md §6).
//!
//! ```text
//! client multipart ─► form::read_form ──text fields──► FileStart ─┐
//!                          │                                      ▼ (one of `--concurrency` permits)
//!                          └──`file` chunks──► bounded channel ─► BodyReader ─► Transcriber::transcribe
//!                                                                  (codec pipeline, streaming upload)
//! transcript + measured duration ─► format::Rendered::response(response_format)
//! ```
//!
//! Both halves run concurrently in the request's task, so the upload streams from the client
//! through the codec pipeline to the upstream without being buffered whole. Errors are mapped in
//! [`crate::server::error`].

pub mod form;
pub mod format;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use codex_pipe_codecs::Input;
use tokio::sync::{mpsc, oneshot};

use self::form::{
    BodyChunk, BodyReader, FileStart, FormLimits, BODY_CHANNEL_CHUNKS, MAX_OTHER_BYTES,
};
use self::format::Rendered;
use super::error::ApiError;
use super::ServerState;
use crate::upstream::transcribe::{TranscribeError, TranscribeRequest, Transcription};

/// The OpenAI route.
pub const PATH: &str = "/v1/audio/transcriptions";
/// The same route without `/v1`, for clients configured with a base URL that lacks it.
pub const ALIAS_PATH: &str = "/audio/transcriptions";

/// The routes of this surface. The body size is enforced by [`form::read_form`] (per part), so
/// axum's default body limit is lifted here.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, post(handle))
        .route(ALIAS_PATH, post(handle))
        .layer(DefaultBodyLimit::disable())
}

async fn handle(
    State(state): State<ServerState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let limits = FormLimits {
        max_file_bytes: state.config.max_upload_bytes,
    };
    if let Some(e) = early_size_rejection(&headers, limits) {
        return e.into_response();
    }
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(r) => {
            return ApiError::bad_request(
                "invalid_multipart",
                format!("expected a multipart/form-data body: {}", r.body_text()),
            )
            .into_response()
        }
    };
    let (start_tx, start_rx) = oneshot::channel();
    let (body_tx, body_rx) = mpsc::channel(BODY_CHANNEL_CHUNKS);
    let (read, transcribed) = tokio::join!(
        form::read_form(&mut multipart, limits, start_tx, body_tx),
        transcribe(&state, start_rx, body_rx)
    );
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            tracing::info!(status = %e.status, message = %e.message, "transcriptions: rejected");
            return e.into_response();
        }
    };
    match transcribed {
        _ if !read.had_file => ApiError::missing_file().into_response(),
        Some(Ok(t)) => {
            tracing::info!(
                format = ?read.fields.response_format,
                duration_seconds = ?t.duration_seconds,
                bytes_sent = t.bytes_sent,
                "transcriptions: ok"
            );
            Rendered {
                text: &t.text,
                duration_seconds: t.duration_seconds.unwrap_or(0.0),
            }
            .response(&read.fields)
        }
        Some(Err(e)) => {
            let api = ApiError::from(&e);
            tracing::warn!(status = %api.status, error = %e, "transcriptions: failed");
            let mut response = api.into_response();
            // Every account cooling down: tell the client when the earliest resets.
            if let Some(wait) = match &e {
                TranscribeError::Accounts(p) => p.retry_after(),
                _ => None,
            } {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            response
        }
        None => ApiError::internal("the transcription did not start").into_response(),
    }
}

/// The upstream half: wait for the `file` part, take a concurrency permit, transcribe.
/// `None` when the form ended (or failed) before a `file` part.
async fn transcribe(
    state: &ServerState,
    start: oneshot::Receiver<FileStart>,
    body: mpsc::Receiver<BodyChunk>,
) -> Option<Result<Transcription, TranscribeError>> {
    let FileStart { fields } = start.await.ok()?;
    let Ok(_permit) = state.upstream_permits.clone().acquire_owned().await else {
        return Some(Err(TranscribeError::Transport(
            "the server is shutting down".into(),
        )));
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
    Some(state.transcriber.transcribe(request).await)
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
    (length > cap && (expects_continue || beyond_drain))
        .then(|| ApiError::too_large(limits.max_file_bytes))
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
        assert_eq!(e.status.as_u16(), 413);
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
