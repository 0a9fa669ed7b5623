//! Anthropic Messages (protocols.md §4b, §5.3; clients.md §3.2, §5; gateways.md §1):
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/messages` (also `?beta=true`, as Claude Code sends it) | the backend's stream as Messages SSE ([`MessagesStreamEgress`], `ping` every keep-alive interval of silence), or one `message` body ([`MessagesAggregator`]) |
//! | `POST /v1/messages/count_tokens` | `{"input_tokens":N}`, counted locally (o200k_base), no upstream request |
//! | `GET /v1/models` with `anthropic-version` | the Claude model names in Anthropic's list shape; without the header, the OpenAI list |
//! | `HEAD /`, `HEAD /api/hello` | 200, no API key (Claude Code's start-up probes) |
//!
//! The key arrives as `x-api-key` or `Authorization: Bearer` (the server's key layer accepts
//! both); any `anthropic-version` and `anthropic-beta` are accepted. Thinking signatures are
//! signed with one random key per process ([`signature_key`]).

use std::sync::OnceLock;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header as http_header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use axum::{Extension, Router};
use bytes::Bytes;
use codex_pipe_protocols::anthropic::{
    count_tokens, parse_request, MessagesAggregator, MessagesConfig, MessagesStreamEgress,
    SignatureKey,
};
use codex_pipe_protocols::{ApiError, Protocol, Translator};

use super::{header, prepare};
use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::call_and_respond;
use crate::server::AppState;

/// The header that marks an Anthropic client (`GET /v1/models` answers in its shape).
pub const VERSION_HEADER: &str = "anthropic-version";

/// The key that signs thinking blocks, one per process (random, so a restart invalidates the
/// signatures handed out before it: those thinking blocks are then dropped, the conversation
/// goes on).
pub fn signature_key() -> &'static SignatureKey {
    static KEY: OnceLock<SignatureKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SignatureKey::random().unwrap_or_else(|| {
            tracing::warn!("no system randomness: thinking signatures use a per-process UUID key");
            let seed = format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
            SignatureKey::new(seed.as_bytes())
        })
    })
}

/// The keyed routes besides `POST /v1/messages` (which sits with the other upstream routes):
/// `count_tokens`, with the server's JSON body limit.
pub fn routes(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/v1/messages/count_tokens", post(count))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// `HEAD /api/hello`: 200, no key needed (`HEAD /` is answered by the `GET /` route, which
/// also serves HEAD).
pub fn probes() -> Router<AppState> {
    Router::new().route("/api/hello", head(probe))
}

async fn probe() -> StatusCode {
    StatusCode::OK
}

/// `POST /v1/messages`.
pub async fn messages(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let key = signature_key();
    let parsed = parse_request(&body, key).map_err(reject)?;
    if parsed.dropped_signatures > 0 {
        tracing::info!(
            dropped = parsed.dropped_signatures,
            "dropped thinking blocks this proxy did not sign"
        );
    }
    let mut req = parsed.request;
    // Claude Code's session header wins over `metadata.user_id` as the cache key.
    req.apply_headers(header(&headers));
    if req.prompt_cache_key.is_none() {
        req.prompt_cache_key = parsed.user_cache_key;
    }
    let p = prepare(&state, req, &headers).map_err(reject)?;
    let config = MessagesConfig {
        id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        model: p.model.clone(),
        signatures: key.clone(),
    };
    let (slot, names, upstream, model) = (
        slot.map(|Extension(s)| s),
        p.tool_names,
        p.upstream,
        p.model,
    );
    if p.stream {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), MessagesStreamEgress::new(config.clone()))
        })
        .await
    } else {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), MessagesAggregator::new(config.clone()))
        })
        .await
    }
}

/// `POST /v1/messages/count_tokens`: `{"input_tokens":N}`.
async fn count(body: Bytes) -> Result<Response, Rejection> {
    let parsed = parse_request(&body, signature_key()).map_err(reject)?;
    let n = count_tokens(&parsed.request);
    Ok(json_response(
        format!("{{\"input_tokens\":{n}}}").into_bytes(),
    ))
}

/// `GET /v1/models`: Anthropic's list shape when the request carries `anthropic-version`,
/// else the OpenAI list ([`super::models::list`]).
pub async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if headers.contains_key(VERSION_HEADER) {
        json_response(state.catalog.anthropic_list_json())
    } else {
        super::models::list(State(state)).await
    }
}

fn json_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            http_header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// An error in the Anthropic shape.
fn reject(e: impl Into<ApiError>) -> Rejection {
    Rejection::new(Protocol::Anthropic, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_pipe_protocols::FailureKind;

    #[test]
    fn rejections_use_the_anthropic_shape() {
        let r = reject(ApiError::new(FailureKind::Overloaded, "busy")).into_response();
        assert_eq!(r.status().as_u16(), 529);
        assert_eq!(
            signature_key().verify(&signature_key().sign("gAAAA")),
            Some("gAAAA")
        );
    }
}
