//! Streaming answers: the upstream body run through a transcoder by the engine's driver,
//! committed to `200 text/event-stream` only once the first byte is ready.
//!
//! ```text
//! BodyStream ─► Drive(SseDecoder, transcoder, keep-alive) ─► first chunk? ─┬─ bytes ─► 200 + chunk + rest (flushed per chunk)
//!                                                                        └─ error ─► HTTP error (OpenAI body)
//! ```
//!
//! Before the first byte an error is an HTTP status; after it, the transcoder writes an in-band
//! error frame ([`InBand::write_error`]) and the body ends cleanly (a truncated chunked body
//! would make clients report a connection error instead of the message).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{Drive, DriveConfig, SseDecoder, SseEncoder, SseEvent, Transcoder};
use codex_pipe_protocols::{ProtocolError, UpstreamFailure};
use futures::StreamExt;

use super::error::{failure_of_drive, LlmError};
use crate::upstream::responses::{BodyStream, UpstreamError};

/// A transcoder whose failures can be reported in-band once the answer has started.
pub(crate) trait InBand: Transcoder<Frame = SseEvent, Error = ProtocolError> {
    /// A failure held back because nothing was written yet (it becomes the HTTP error).
    fn pending(&self) -> Option<&UpstreamFailure>;
    /// Writes the in-band error frame for `failure`, unless the stream already ended.
    fn write_error(&self, failure: &UpstreamFailure, out: &mut BytesMut);
    /// Bytes reached the client (the first chunk may be a keep-alive the transcoder never
    /// saw): failures must go in-band from now on. Takes `&self` because the driver only lends
    /// its transcoder immutably; implementations use a `Cell`.
    fn commit(&self);
}

type Driven<T> = Drive<BodyStream, SseDecoder, T, UpstreamError>;

/// Runs `transcoder` over `body` and answers with the resulting SSE stream, or with an HTTP
/// error when the stream fails before its first byte.
///
/// # Errors
/// [`LlmError::Failure`] for a failure before the first byte.
pub(crate) async fn stream_response<T>(
    body: BodyStream,
    transcoder: T,
    keep_alive: Option<Duration>,
    upstream_headers: HeaderMap,
) -> Result<Response, LlmError>
where
    T: InBand + Send + 'static,
{
    let config = match keep_alive {
        Some(every) => {
            DriveConfig::default().keep_alive(every, Bytes::from_static(SseEncoder::KEEP_ALIVE))
        }
        None => DriveConfig::default(),
    };
    let mut drive: std::pin::Pin<Box<Driven<T>>> =
        Box::pin(Drive::new(body, SseDecoder::new(), transcoder, config));
    let first = match drive.next().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => {
            let failure = drive
                .transcoder()
                .pending()
                .cloned()
                .unwrap_or_else(|| failure_of_drive(&e));
            return Err(LlmError::Failure(failure));
        }
        None => {
            let failure = drive
                .transcoder()
                .pending()
                .cloned()
                .unwrap_or_else(UpstreamFailure::premature_close);
            return Err(LlmError::Failure(failure));
        }
    };
    drive.transcoder().commit();
    let rest = futures::stream::unfold(Some(drive), |state| async move {
        let mut drive = state?;
        match drive.next().await {
            Some(Ok(bytes)) => Some((Ok::<_, Infallible>(bytes), Some(drive))),
            Some(Err(e)) => {
                let failure = failure_of_drive(&e);
                tracing::warn!(error = %failure, kind = e.kind(), "upstream stream failed after the answer started");
                let mut out = BytesMut::new();
                drive.transcoder().write_error(&failure, &mut out);
                (!out.is_empty()).then(|| (Ok(out.freeze()), None))
            }
            None => None,
        }
    });
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(first) }).chain(rest);
    Ok(sse_response(Body::from_stream(stream), upstream_headers))
}

/// A `200 text/event-stream` response around `body`, with the relayed `x-codex-*` headers.
pub(crate) fn sse_response(body: Body, upstream_headers: HeaderMap) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.extend(upstream_headers);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}
