//! `POST /v1/chat/completions` (protocols.md §4a, §5.2, §5.6): Chat request → canonical
//! request → Codex backend; the backend's stream → Chat chunks ([`ChatStreamEgress`]), or one
//! `chat.completion` body folded from the same events ([`ChatCompletionAggregator`]).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use codex_pipe_protocols::openai_chat::{
    parse_request, ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress,
};
use codex_pipe_protocols::responses::encode_request;
use codex_pipe_protocols::{Protocol, Translator};

use super::{header, unix_now};
use codex_pipe_protocols::ApiError;

use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::call_and_respond;
use crate::server::AppState;
use crate::upstream::responses::UpstreamRequest;

/// `POST /v1/chat/completions`.
pub async fn handle(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let parsed = parse_request(&body).map_err(reject)?;
    let mut req = parsed.request;
    req.apply_headers(header(&headers));
    let requested = req.model.clone();
    state.catalog.apply(&mut req);
    let encoded = encode_request(&req).map_err(reject)?;
    let config = ChatStreamConfig {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: unix_now(),
        model: if requested.trim().is_empty() {
            req.model.clone()
        } else {
            requested
        },
        include_usage: parsed.include_usage,
    };
    let upstream = UpstreamRequest {
        body: Bytes::from(encoded.body),
        session_id: req.prompt_cache_key.clone(),
        subagent: req.subagent.clone(),
    };
    let (slot, names) = (slot.map(|Extension(s)| s), encoded.tool_names);
    let model = config.model.clone();
    if req.stream {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), ChatStreamEgress::new(config.clone()))
        })
        .await
    } else {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), ChatCompletionAggregator::new(config.clone()))
        })
        .await
    }
}

/// An error in the OpenAI shape.
fn reject(e: impl Into<ApiError>) -> Rejection {
    Rejection::new(Protocol::OpenAi, e)
}
