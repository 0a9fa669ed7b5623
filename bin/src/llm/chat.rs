//! `POST /v1/chat/completions` (protocols.md §4a, §5.2, §5.6): Chat request → canonical
//! request → Codex backend; the backend's Responses stream → Chat chunks, or one
//! `chat.completion` body folded from the same events.
//!
//! Streaming answers hold back metadata (`response.created`) until the first content event, so
//! that a backend that fails right away (`response.failed` with `context_length_exceeded` or
//! `rate_limit_exceeded`) still becomes an HTTP 400 / 429 with `Retry-After`; once content
//! flowed, failures arrive as one `data: {"error":{…}}` frame and the stream ends.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{ByteStreamExt, ReadError, SseEncoder, SseEvent, Transcoder};
use codex_pipe_protocols::canonical::FailureKind;
use codex_pipe_protocols::openai_chat::{
    parse_request, ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress, OpenAiError,
};
use codex_pipe_protocols::responses::{encode_request, ResponsesIngress, ToolNameMap};
use codex_pipe_protocols::{ChatEvent, ProtocolError, UpstreamFailure};
use futures::StreamExt;

use super::error::{failure_of_read, LlmError};
use super::sse::{stream_response, InBand};
use super::{subagent_of, LlmState};
use crate::server::metrics::RequestSlot;
use crate::upstream::responses::{ResponsesStream, UpstreamRequest};

/// The Chat Completions streaming transcoder: upstream SSE events → Chat chunks.
pub(crate) struct ChatTranscoder {
    ingress: ResponsesIngress,
    egress: ChatStreamEgress,
    events: Vec<ChatEvent>,
    /// Metadata events held back until the first content event.
    held: Vec<ChatEvent>,
    /// A failure that came before any content: answered as an HTTP error.
    pending: Option<UpstreamFailure>,
    committed: Cell<bool>,
    /// Receives the final usage for metrics and the usage log.
    slot: Option<RequestSlot>,
}

impl ChatTranscoder {
    pub(crate) fn new(tool_names: ToolNameMap, config: ChatStreamConfig) -> Self {
        ChatTranscoder {
            ingress: ResponsesIngress::new(tool_names),
            egress: ChatStreamEgress::new(config),
            events: Vec::new(),
            held: Vec::new(),
            pending: None,
            committed: Cell::new(false),
            slot: None,
        }
    }

    fn flush(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        for event in self.events.drain(..) {
            if let (ChatEvent::Usage(u), Some(slot)) = (&event, &self.slot) {
                slot.set_usage(*u);
            }
            if !self.committed.get() {
                if event.is_metadata() {
                    self.held.push(event);
                    continue;
                }
                if let ChatEvent::Error(failure) = event {
                    self.pending = Some(failure);
                    continue;
                }
                self.committed.set(true);
                for held in self.held.drain(..) {
                    self.egress.write(&held, out)?;
                }
            }
            self.egress.write(&event, out)?;
        }
        Ok(())
    }
}

impl Transcoder for ChatTranscoder {
    type Frame = SseEvent;
    type Error = ProtocolError;

    fn on_frame(&mut self, frame: SseEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        match self.ingress.push(frame.data(), &mut self.events) {
            Ok(()) => {}
            Err(e) if e.can_continue() => {
                tracing::warn!(error = %e, "skipping a malformed upstream event");
            }
            Err(e) => return Err(e),
        }
        self.flush(out)
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        self.ingress.finish(&mut self.events);
        self.flush(out)?;
        match &self.pending {
            Some(failure) => Err(ProtocolError::Upstream(failure.clone())),
            None => Ok(()),
        }
    }
}

impl InBand for ChatTranscoder {
    fn pending(&self) -> Option<&UpstreamFailure> {
        self.pending.as_ref()
    }

    fn write_error(&self, failure: &UpstreamFailure, out: &mut BytesMut) {
        // The same frame `ChatStreamEgress` writes for `ChatEvent::Error`.
        if !self.egress.is_finished() {
            SseEncoder::data(out, None, &OpenAiError::from_failure(failure).to_json());
        }
    }

    fn commit(&self) {
        self.committed.set(true);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `POST /v1/chat/completions`.
pub(crate) async fn handle(
    State(state): State<LlmState>,
    slot: Option<axum::Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, LlmError> {
    let slot = slot.map(|axum::Extension(s)| s);
    let (state, headers, body) = (&state, &headers, &body[..]);
    let mut req = parse_request(body)?;
    let requested = req.model.clone();
    state.catalog().apply(&mut req);
    let encoded = encode_request(&req)?;
    let config = ChatStreamConfig {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: unix_now(),
        model: if requested.trim().is_empty() {
            req.model.clone()
        } else {
            requested
        },
        include_usage: req.include_usage,
    };
    let upstream_req = UpstreamRequest {
        body: Bytes::from(encoded.body),
        session_id: req.prompt_cache_key.clone(),
        subagent: req.subagent.clone().or_else(|| subagent_of(headers)),
    };
    if let Some(slot) = &slot {
        slot.set_model(&config.model);
    }
    let mut upstream = state.upstream().stream(&upstream_req).await?;
    loop {
        if let Some(slot) = &slot {
            slot.set_upstream(upstream.account.clone(), upstream.waited);
        }
        let account = upstream.account.clone();
        let result = if req.stream {
            let mut transcoder = ChatTranscoder::new(encoded.tool_names.clone(), config.clone());
            transcoder.slot.clone_from(&slot);
            stream_response(
                upstream.body,
                transcoder,
                state.config().keep_alive,
                upstream.headers,
            )
            .await
        } else {
            aggregate(
                upstream,
                encoded.tool_names.clone(),
                config.clone(),
                slot.clone(),
            )
            .await
        };
        // A usage limit reported in-stream before any byte went out: another account may answer.
        let Some(failure) = result.as_ref().err().and_then(usage_limit) else {
            return result;
        };
        match state
            .upstream()
            .stream_elsewhere(&upstream_req, &account, failure)
            .await?
        {
            Some(next) => upstream = next,
            None => return result,
        }
    }
}

/// The failure of `e` when it is a usage limit (`rate_limit_exceeded`, `usage_limit_reached`,
/// `insufficient_quota`).
fn usage_limit(e: &LlmError) -> Option<&UpstreamFailure> {
    let failure = match e {
        LlmError::Failure(f) | LlmError::Protocol(ProtocolError::Upstream(f)) => f,
        _ => return None,
    };
    matches!(
        failure.kind,
        FailureKind::RateLimited | FailureKind::QuotaExceeded
    )
    .then_some(failure)
}

/// The non-streaming answer: the upstream stream folded by [`ChatCompletionAggregator`].
async fn aggregate(
    upstream: ResponsesStream,
    tool_names: ToolNameMap,
    config: ChatStreamConfig,
    slot: Option<RequestSlot>,
) -> Result<Response, LlmError> {
    let mut ingress = ResponsesIngress::new(tool_names);
    let mut aggregator = ChatCompletionAggregator::new(config);
    let mut events = Vec::new();
    let mut frames = upstream.body.sse_events();
    while let Some(item) = frames.next().await {
        match item {
            Ok(event) => match ingress.push(event.data(), &mut events) {
                Ok(()) => {}
                Err(e) if e.can_continue() => {
                    tracing::warn!(error = %e, "skipping a malformed upstream event");
                }
                Err(e) => return Err(e.into()),
            },
            Err(ReadError::Framing(e)) if e.can_continue() => {
                tracing::warn!(error = %e, "skipping an oversized upstream event");
            }
            Err(e) => return Err(LlmError::Failure(failure_of_read(&e))),
        }
        for event in events.drain(..) {
            if let (ChatEvent::Usage(u), Some(slot)) = (&event, &slot) {
                slot.set_usage(*u);
            }
            aggregator.push(&event);
        }
        if ingress.is_terminated() {
            break;
        }
    }
    ingress.finish(&mut events);
    for event in events.drain(..) {
        if let (ChatEvent::Usage(u), Some(slot)) = (&event, &slot) {
            slot.set_usage(*u);
        }
        aggregator.push(&event);
    }

    let body = aggregator.finish()?;
    Ok(super::responses::json_response(body, upstream.headers))
}
