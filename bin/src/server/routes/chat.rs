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
use codex_pipe_protocols::{Protocol, Translator};

use super::{prepare, unix_now};
use codex_pipe_protocols::ApiError;

use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::call_and_respond;
use crate::server::AppState;

/// `POST /v1/chat/completions`.
pub async fn handle(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let parsed = parse_request(&body).map_err(reject)?;
    let p = prepare(&state, parsed.request, &headers).map_err(reject)?;
    let config = ChatStreamConfig {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: unix_now(),
        model: p.model.clone(),
        include_usage: parsed.include_usage,
    };
    let (slot, names, upstream, model) = (
        slot.map(|Extension(s)| s),
        p.tool_names,
        p.upstream,
        p.model,
    );
    if p.stream {
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
