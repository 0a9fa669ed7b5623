//! `POST /v1/responses` and `POST /v1/responses/compact`: the client's own Responses body,
//! fixed up for the Codex backend (`fixup_responses_request`: `store:false`, `stream:true`,
//! `instructions`, unsupported fields dropped, long tool names shortened), and the backend's
//! events forwarded unchanged (clients.md §3.1 "forward the backend's full events unchanged"),
//! except that shortened tool names are restored.
//!
//! - `stream:true`: every upstream event is written as it arrives (same `event:` line, same
//!   `data`). A stream that ends without `response.completed` / `failed` / `incomplete` /
//!   `error`, or fails mid-way, gets one `error` event (`{"type":"error","code","message",
//!   "param","sequence_number","error":{type,code,message}}`, the public flat form and the
//!   Codex nested form at once) and ends.
//! - `stream:false` (the public API's default): the stream is collected and the final `response`
//!   object of `response.completed` / `response.incomplete` is the body, its `output` rebuilt
//!   from `response.output_item.done` events when the backend sent it empty (protocols.md §5.6,
//!   §7 item 12); `response.failed` / `error` become an HTTP error.
//!
//! The model name goes through the catalog first (aliases, `-high` / `-fast` suffixes, the
//! default effort), like the translated surfaces.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use codex_pipe_engine::{ByteStreamExt, ReadError, SseEncoder, SseEvent, Transcoder};
use codex_pipe_protocols::responses::{
    fixup_compact_request, fixup_responses_request, ResponsesIngress, ToolNameMap,
};
use codex_pipe_protocols::{ChatEvent, ChatRequest, ProtocolError, UpstreamFailure};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{failure_of_read, LlmError};
use super::sse::{stream_response, InBand};
use super::{subagent_of, LlmState};
use crate::server::metrics::RequestSlot;
use crate::upstream::responses::{ResponsesStream, UpstreamRequest};

/// Event types after which the backend sends nothing more.
const TERMINAL: [&str; 4] = [
    "response.completed",
    "response.failed",
    "response.incomplete",
    "error",
];

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    sequence_number: Option<u64>,
}

/// Forwards upstream events unchanged (tool names restored).
pub(crate) struct PassthroughTranscoder {
    tool_names: ToolNameMap,
    terminated: bool,
    last_sequence: Option<u64>,
    /// Receives the final usage (read from the terminal event only) for metrics.
    slot: Option<RequestSlot>,
}

impl PassthroughTranscoder {
    pub(crate) fn new(tool_names: ToolNameMap) -> Self {
        PassthroughTranscoder {
            tool_names,
            terminated: false,
            last_sequence: None,
            slot: None,
        }
    }
}

/// The token counts of a terminal `response.completed` / `response.incomplete` event.
fn usage_of(data: &[u8]) -> Option<codex_pipe_protocols::Usage> {
    let mut events = Vec::new();
    ResponsesIngress::new(ToolNameMap::default())
        .push(data, &mut events)
        .ok()?;
    events.into_iter().find_map(|e| match e {
        ChatEvent::Usage(u) => Some(u),
        _ => None,
    })
}

/// `data` with shortened tool names restored; unchanged when none occurs.
fn restore(names: &ToolNameMap, data: Bytes) -> Bytes {
    match names.restore_event(&data) {
        Ok(Some(fixed)) => Bytes::from(fixed),
        Ok(None) => data,
        Err(e) => {
            tracing::warn!(error = %e, "cannot restore tool names in an upstream event; forwarded as is");
            data
        }
    }
}

impl Transcoder for PassthroughTranscoder {
    type Frame = SseEvent;
    type Error = ProtocolError;

    fn on_frame(&mut self, frame: SseEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if let Ok(head) = serde_json::from_slice::<Head<'_>>(frame.data()) {
            if let Some(seq) = head.sequence_number {
                self.last_sequence = Some(seq);
            }
            if head.kind.as_deref().is_some_and(|k| TERMINAL.contains(&k)) {
                self.terminated = true;
                if let Some(slot) = &self.slot {
                    if let Some(usage) = usage_of(frame.data()) {
                        slot.set_usage(usage);
                    }
                }
            }
        }
        let event = frame.event().and_then(|e| std::str::from_utf8(e).ok());
        let data = restore(&self.tool_names, frame.data_bytes());
        SseEncoder::data(out, event, &data);
        Ok(())
    }

    fn finish(&mut self, _out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.terminated {
            Ok(())
        } else {
            Err(ProtocolError::Upstream(UpstreamFailure::premature_close()))
        }
    }
}

impl InBand for PassthroughTranscoder {
    fn pending(&self) -> Option<&UpstreamFailure> {
        None
    }

    fn write_error(&self, failure: &UpstreamFailure, out: &mut BytesMut) {
        if self.terminated {
            return;
        }
        let err = codex_pipe_protocols::openai_chat::OpenAiError::from_failure(failure);
        let event = serde_json::json!({
            "type": "error",
            "sequence_number": self.last_sequence.map_or(0, |s| s + 1),
            "code": err.code,
            "message": err.message,
            "param": null,
            "error": {"type": err.error_type, "code": err.code, "message": err.message},
        });
        if SseEncoder::json(out, Some("error"), &event).is_err() {
            out.put_slice(b"event: error\ndata: {\"type\":\"error\"}\n\n");
        }
    }

    fn commit(&self) {}
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    prompt_cache_key: Option<Cow<'a, str>>,
}

/// The body with its model resolved through the catalog; effort and tier from a suffix (or the
/// default effort) are added unless the body sets them.
fn resolve_model<'b>(state: &LlmState, body: &'b [u8]) -> Result<Cow<'b, [u8]>, LlmError> {
    let Ok(peek) = serde_json::from_slice::<Peek<'_>>(body) else {
        return Ok(Cow::Borrowed(body));
    };
    let requested = peek.model.as_deref().unwrap_or_default().to_owned();
    let mut scratch = ChatRequest {
        model: requested.clone(),
        ..ChatRequest::default()
    };
    state.catalog().apply(&mut scratch);
    if scratch.model == requested
        && scratch.reasoning_effort.is_none()
        && scratch.service_tier.is_none()
    {
        return Ok(Cow::Borrowed(body));
    }
    let mut obj: Map<String, Value> =
        serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    obj.insert("model".into(), scratch.model.into());
    if let Some(effort) = scratch.reasoning_effort {
        let reasoning = obj
            .entry("reasoning")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(r) = reasoning {
            if !r.contains_key("effort") {
                r.insert("effort".into(), effort.as_str().into());
            }
        }
    }
    if let Some(tier) = scratch.service_tier {
        obj.entry("service_tier")
            .or_insert_with(|| tier.as_str().into());
    }
    let bytes = serde_json::to_vec(&obj).map_err(ProtocolError::Serialize)?;
    Ok(Cow::Owned(bytes))
}

/// The conversation id for the `session_id` header: the client's `session_id` / `session-id`
/// header, else the body's `prompt_cache_key`.
fn session_of(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    ["session_id", "session-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
        .or_else(|| {
            serde_json::from_slice::<Peek<'_>>(body)
                .ok()
                .and_then(|p| p.prompt_cache_key.map(Cow::into_owned))
        })
}

/// `POST /v1/responses`.
pub(crate) async fn handle(
    State(state): State<LlmState>,
    slot: Option<axum::Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, LlmError> {
    let (state, headers, body) = (&state, &headers, &body[..]);
    if let (Some(slot), Ok(peek)) = (&slot, serde_json::from_slice::<Peek<'_>>(body)) {
        slot.set_model(peek.model.as_deref().unwrap_or_default());
    }
    let body = resolve_model(state, body)?;
    let fixed = fixup_responses_request(&body)?;
    if !fixed.dropped.is_empty() {
        tracing::debug!(dropped = ?fixed.dropped, "fields the backend rejects were dropped");
    }
    let req = UpstreamRequest {
        session_id: session_of(headers, &fixed.body),
        subagent: subagent_of(headers),
        body: Bytes::from(fixed.body),
    };
    let upstream = state.upstream().stream(&req).await?;
    if let Some(axum::Extension(slot)) = &slot {
        slot.set_upstream(upstream.account.clone(), upstream.waited);
    }
    if fixed.client_stream {
        let mut transcoder = PassthroughTranscoder::new(fixed.tool_names);
        transcoder.slot = slot.map(|axum::Extension(s)| s);
        stream_response(
            upstream.body,
            transcoder,
            state.config().keep_alive,
            upstream.headers,
        )
        .await
    } else {
        collect(
            upstream,
            &fixed.tool_names,
            slot.map(|axum::Extension(s)| s),
        )
        .await
    }
}

#[derive(Deserialize)]
struct Done {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    response: Option<Value>,
}

/// The `stream:false` answer: the final `response` object (module docs).
async fn collect(
    upstream: ResponsesStream,
    names: &ToolNameMap,
    slot: Option<RequestSlot>,
) -> Result<Response, LlmError> {
    let mut ingress = ResponsesIngress::new(ToolNameMap::default());
    let mut events = Vec::new();
    let mut items: Vec<(u64, Value)> = Vec::new();
    let mut response = None;
    let mut frames = upstream.body.sse_events();
    while let Some(item) = frames.next().await {
        let data = match item {
            Ok(event) => restore(names, event.into_data()),
            Err(ReadError::Framing(e)) if e.can_continue() => {
                tracing::warn!(error = %e, "skipping an oversized upstream event");
                continue;
            }
            Err(e) => return Err(LlmError::Failure(failure_of_read(&e))),
        };
        if let Err(e) = ingress.push(&data, &mut events) {
            if !e.can_continue() {
                return Err(e.into());
            }
        }
        for event in events.drain(..) {
            match event {
                ChatEvent::Error(failure) => return Err(LlmError::Failure(failure)),
                ChatEvent::Usage(usage) => {
                    if let Some(slot) = &slot {
                        slot.set_usage(usage);
                    }
                }
                _ => {}
            }
        }
        let Ok(done) = serde_json::from_slice::<Done>(&data) else {
            continue;
        };
        match done.kind.as_str() {
            "response.output_item.done" => {
                if let Some(item) = done.item {
                    items.push((done.output_index.unwrap_or(items.len() as u64), item));
                }
            }
            "response.completed" | "response.incomplete" => {
                response = done.response;
                break;
            }
            _ => {}
        }
    }
    let Some(mut response) = response else {
        return Err(LlmError::Failure(UpstreamFailure::premature_close()));
    };
    if let Value::Object(obj) = &mut response {
        let empty = obj
            .get("output")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if empty && !items.is_empty() {
            items.sort_by_key(|(index, _)| *index);
            obj.insert(
                "output".into(),
                Value::Array(items.into_iter().map(|(_, item)| item).collect()),
            );
        }
    }
    let body = serde_json::to_vec(&response).map_err(ProtocolError::Serialize)?;
    Ok(json_response(body, upstream.headers))
}

/// A `200 OK` `application/json` response with `body`, carrying the upstream's forwarded
/// headers (rate limits, request id).
pub(super) fn json_response(body: Vec<u8>, upstream_headers: HeaderMap) -> Response {
    let mut resp = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    resp.headers_mut().extend(upstream_headers);
    resp
}

/// `POST /v1/responses/compact`.
pub(crate) async fn handle_compact(
    State(state): State<LlmState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, LlmError> {
    let (state, headers, body) = (&state, &headers, &body[..]);
    let session_id = session_of(headers, body);
    let body = resolve_model(state, body)?;
    let fixed = fixup_compact_request(&body)?;
    let req = UpstreamRequest {
        body: Bytes::from(fixed.body),
        session_id,
        subagent: subagent_of(headers),
    };
    let answer = state.upstream().compact(&req).await?;
    let body = if fixed.tool_names.is_empty() {
        answer.body.to_vec()
    } else {
        restore_compact_names(&fixed.tool_names, &answer.body)
    };
    Ok(json_response(body, answer.headers))
}

/// Restores shortened tool names in the `output` items of a compact answer.
fn restore_compact_names(names: &ToolNameMap, body: &[u8]) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    if let Some(Value::Array(items)) = value.get_mut("output") {
        for item in items {
            if let Some(Value::String(name)) = item.get_mut("name") {
                let original = names.original(name).to_owned();
                *name = original;
            }
        }
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
}
