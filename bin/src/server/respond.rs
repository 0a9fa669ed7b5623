//! The one responder: the upstream body run through a [`Translator`] by the engine's driver,
//! answered `200` once the first bytes are ready, or with the protocol's HTTP error when the
//! answer fails before that.
//!
//! ```text
//! upstream body ─► Drive(SseDecoder, Translator, keep-alive, coalescing) ─► first chunk? ─┬─ bytes ─► 200 + chunk + rest
//!                                                                                        └─ error ─► Rejection (protocol's status + body)
//! ```
//!
//! Streamed answers: each chunk is flushed as it comes; what one burst of upstream reads
//! produced leaves in one body chunk (the driver coalesces only what is already there, so
//! nothing waits). After the first byte, a failure is written in-band by the translator and the
//! body ends cleanly (a truncated chunked body would make clients report a connection error
//! instead of the message). Folded answers (`stream:false`): the single chunk is the whole
//! body. Dropping the response body drops the upstream request (cancellation).
//!
//! [`call_and_respond`] is what routes use: the upstream call, the metering slot (model,
//! account, backend wait, final usage), and the one account retry: a usage limit the backend
//! reports in the stream before the first byte reached the client moves the request to another
//! account ([`crate::upstream::responses::ResponsesClient::stream_elsewhere`]) with a fresh
//! translator.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{Drive, DriveConfig, DriveError, SseDecoder};
use codex_pipe_protocols::{ApiError, Egress, FailureKind, Translator, UpstreamFailure};
use futures::{Stream, StreamExt, TryStreamExt};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::error::Rejection;
use super::metrics::RequestSlot;
use super::AppState;
use crate::upstream::responses::{ResponsesStream, UpstreamRequest};

/// Largest body chunk built from upstream reads that are already available (bytes).
pub const COALESCE_BYTES: usize = 64 * 1024;

/// Sends `req` upstream and answers with a translator from `translator` (module docs):
/// records `model`, the account and the backend wait in `slot`, and the final usage when the
/// answer ends. A usage limit (`RateLimited`, `QuotaExceeded`) reported before the first byte
/// moves the request to another account, with a fresh translator, while one is left.
///
/// # Errors
/// The upstream failure, or as [`respond`], in the egress's protocol.
pub async fn call_and_respond<E, F>(
    state: &AppState,
    slot: Option<RequestSlot>,
    model: &str,
    req: &UpstreamRequest,
    mut translator: F,
) -> Result<Response, Rejection>
where
    E: Egress + Send + 'static,
    F: FnMut() -> Translator<E>,
{
    if let Some(slot) = &slot {
        slot.set_model(model);
    }
    let mut next = translator();
    let protocol = next.egress().protocol();
    let upstream_error = |e: crate::upstream::responses::UpstreamError| {
        Rejection::new(protocol, ApiError::from(e.failure()))
    };
    let mut upstream = state.responses.stream(req).await.map_err(upstream_error)?;
    loop {
        if let Some(slot) = &slot {
            slot.set_upstream(upstream.account.clone(), upstream.waited);
        }
        let account = upstream.account.clone();
        let (rejection, failure) = match drive_answer(state, upstream, next, slot.clone()).await {
            Ok(response) => return Ok(response),
            Err(failed) => failed,
        };
        let Some(failure) = failure.filter(|f| {
            matches!(
                f.kind,
                FailureKind::RateLimited | FailureKind::QuotaExceeded
            )
        }) else {
            return Err(rejection);
        };
        match state
            .responses
            .stream_elsewhere(req, &account, &failure)
            .await
            .map_err(upstream_error)?
        {
            Some(other) => {
                tracing::info!(from = %account, to = %other.account, "usage limit before the first byte; another account answers");
                upstream = other;
                next = translator();
            }
            None => return Err(rejection),
        }
    }
}

/// Answers with `translator` run over `upstream` (module docs).
///
/// # Errors
/// A [`Rejection`] in the egress's protocol when the answer fails before its first byte: an
/// upstream failure event, a premature end, a broken connection, an idle timeout.
pub async fn respond<E>(
    state: &AppState,
    upstream: ResponsesStream,
    translator: Translator<E>,
) -> Result<Response, Rejection>
where
    E: Egress + Send + 'static,
{
    drive_answer(state, upstream, translator, None)
        .await
        .map_err(|(rejection, _)| rejection)
}

/// [`respond`], with the final usage recorded in `slot`; a failure before the first byte also
/// returns the upstream failure the translator saw, if any (for the account retry).
async fn drive_answer<E>(
    state: &AppState,
    upstream: ResponsesStream,
    translator: Translator<E>,
    slot: Option<RequestSlot>,
) -> Result<Response, (Rejection, Option<UpstreamFailure>)>
where
    E: Egress + Send + 'static,
{
    let keep_alive = state.config.keep_alive;
    let egress = translator.egress();
    let protocol = egress.protocol();
    let content_type = egress.content_type();
    let streaming = egress.is_streaming();
    let mut config = DriveConfig::default().coalesce(COALESCE_BYTES);
    if let (true, Some(every), Some(frame)) = (streaming, keep_alive, egress.keep_alive()) {
        config = config.keep_alive(every, Bytes::from_static(frame));
    }
    let body = upstream.body.map_err(|e| e.failure());
    let mut drive = Box::pin(Drive::new(body, SseDecoder::new(), translator, config));
    let first = match drive.next().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => {
            let mut unused = BytesMut::new();
            let error = drive
                .as_mut()
                .transcoder_mut()
                .fail(&e, &mut unused)
                .unwrap_or_else(|| drive.transcoder().failure_before_output());
            let failure = drive.transcoder().pending().cloned();
            return Err((Rejection::new(protocol, error), failure));
        }
        None => {
            let failure = drive.transcoder().pending().cloned();
            return Err((
                Rejection::new(protocol, drive.transcoder().failure_before_output()),
                failure,
            ));
        }
    };
    let body = if streaming {
        Body::from_stream(rest_of(first, drive, state.shutdown.clone(), slot))
    } else {
        if let (Some(slot), Some(usage)) = (&slot, drive.transcoder().usage()) {
            slot.set_usage(usage);
        }
        Body::from(first)
    };
    Ok(answer(body, content_type, streaming, upstream.headers))
}

/// The driver over an upstream body.
type Driven<S, E> = std::pin::Pin<Box<Drive<S, SseDecoder, Translator<E>, UpstreamFailure>>>;

pin_project_lite::pin_project! {
    /// The body of a streamed answer: `first`, then the driver's chunks; a failure becomes the
    /// translator's in-band error, then the end. When `shutdown` is cancelled (the grace period
    /// after a shutdown signal is over) the answer ends the same way. The cancellation future
    /// is created once and only polled while the upstream is silent, so a chunk costs no
    /// waiter registration.
    struct Rest<S, E: Egress> {
        first: Option<Bytes>,
        drive: Driven<S, E>,
        #[pin]
        cancelled: WaitForCancellationFutureOwned,
        done: bool,
        // Where the answer's final usage goes (metrics), when the stream ends.
        slot: Option<RequestSlot>,
    }
}

fn rest_of<S, E>(
    first: Bytes,
    drive: Driven<S, E>,
    shutdown: CancellationToken,
    slot: Option<RequestSlot>,
) -> Rest<S, E>
where
    E: Egress,
{
    Rest {
        first: Some(first),
        drive,
        cancelled: shutdown.cancelled_owned(),
        done: false,
        slot,
    }
}

impl<S, E> Stream for Rest<S, E>
where
    S: Stream<Item = Result<Bytes, UpstreamFailure>>,
    E: Egress,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if *this.done {
            return Poll::Ready(None);
        }
        let failure = match this.drive.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => return Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(None) => {
                *this.done = true;
                if let (Some(slot), Some(usage)) = (this.slot, this.drive.transcoder().usage()) {
                    slot.set_usage(usage);
                }
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(kind = e.kind(), error = %e, "upstream stream failed after the answer started");
                e
            }
            Poll::Pending => match this.cancelled.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => DriveError::Transport(UpstreamFailure::new(
                    FailureKind::Overloaded,
                    "server_shutting_down",
                    "the proxy is shutting down; retry the request",
                )),
            },
        };
        *this.done = true;
        if let (Some(slot), Some(usage)) = (this.slot, this.drive.transcoder().usage()) {
            slot.set_usage(usage);
        }
        let mut out = BytesMut::new();
        this.drive
            .as_mut()
            .transcoder_mut()
            .fail(&failure, &mut out);
        Poll::Ready((!out.is_empty()).then(|| Ok(out.freeze())))
    }
}

/// A `200` answer with `content_type`, the relayed `x-codex-*` headers and, for streams, the
/// headers that keep intermediaries from buffering.
pub fn answer(
    body: Body,
    content_type: &'static str,
    streaming: bool,
    upstream_headers: HeaderMap,
) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.extend(upstream_headers);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if streaming {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
    resp
}
