//! The Ollama API surface (protocols.md §4d, §5.5; clients.md §3.4, §4; gateways.md §7), on
//! the main listener and, with `--ollama-port`, on a second loopback listener:
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/chat`, `POST /api/generate` | NDJSON lines ([`OllamaStreamEgress`], the default), or one object with `"stream": false` ([`OllamaAggregator`]) |
//! | `GET /`, `HEAD /` | `Ollama is running` |
//! | `GET /api/version` | `{"version":"0.13.5"}` (Codex `--oss` requires ≥ 0.13.4) |
//! | `GET /api/tags`, `GET /api/ps` | the catalog as Ollama models |
//! | `POST /api/show` | details, `model_info["<arch>.context_length"]`, `capabilities`; 404 for an unknown model |
//! | `POST /api/pull` | success for a known model (streamed progress by default), 404 otherwise |
//!
//! Errors are `{"error":"…"}` with the status.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use codex_pipe_protocols::ollama::{
    model_name, parse_chat, parse_generate, ps_json, requested_model, rfc3339, show_json,
    tags_json, version_json, Endpoint, OllamaAggregator, OllamaConfig, OllamaStreamEgress,
    ParsedOllama, PULL_STREAM, PULL_SUCCESS, ROOT_TEXT,
};
use codex_pipe_protocols::{ApiError, FailureKind, Protocol, Translator};

use super::prepare;
use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::call_and_respond;
use crate::server::AppState;

/// `POST /api/chat`.
pub async fn chat(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let parsed = parse_chat(&body).map_err(reject)?;
    answer(state, slot, &headers, parsed, Endpoint::Chat).await
}

/// `POST /api/generate`.
pub async fn generate(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let parsed = parse_generate(&body).map_err(reject)?;
    answer(state, slot, &headers, parsed, Endpoint::Generate).await
}

async fn answer(
    state: AppState,
    slot: Option<Extension<RequestSlot>>,
    headers: &HeaderMap,
    parsed: ParsedOllama,
    endpoint: Endpoint,
) -> Result<Response, Rejection> {
    let started = Instant::now();
    let p = prepare(&state, parsed.request, headers).map_err(reject)?;
    let config = OllamaConfig {
        endpoint,
        model: parsed.model,
        created_at: now_rfc3339(),
        think: parsed.think,
        started: Some(started),
    };
    let (slot, names, upstream) = (slot.map(|Extension(s)| s), p.tool_names, p.upstream);
    let model = config.model.clone();
    if p.stream {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), OllamaStreamEgress::new(config.clone()))
        })
        .await
    } else {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(names.clone(), OllamaAggregator::new(config.clone()))
        })
        .await
    }
}

/// `GET /` and `HEAD /`: `Ollama is running` (what Ollama clients probe).
pub async fn root() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        ROOT_TEXT,
    )
        .into_response()
}

/// `GET /api/version`.
pub async fn version() -> Response {
    json(version_json())
}

/// `GET /api/tags`.
pub async fn tags(State(state): State<AppState>) -> Response {
    json(tags_json(state.catalog.ids(), &now_rfc3339()))
}

/// `GET /api/ps`.
pub async fn ps(State(state): State<AppState>) -> Response {
    let expires = rfc3339(unix_secs() + 24 * 3600, 0);
    json(ps_json(state.catalog.ids(), &expires))
}

/// `POST /api/show`.
pub async fn show(State(state): State<AppState>, body: Bytes) -> Result<Response, Rejection> {
    let name = known_model(&state, &body)?;
    Ok(json(show_json(&name, &now_rfc3339())))
}

/// `POST /api/pull`: nothing to download; success for a known model.
pub async fn pull(State(state): State<AppState>, body: Bytes) -> Result<Response, Rejection> {
    known_model(&state, &body)?;
    let stream = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("stream").and_then(serde_json::Value::as_bool))
        .unwrap_or(true);
    Ok(if stream {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )],
            PULL_STREAM,
        )
            .into_response()
    } else {
        json(PULL_SUCCESS.to_vec())
    })
}

/// The model a `/api/show` or `/api/pull` body names, without `:latest`, when the catalog
/// knows it; 404 `model '<name>' not found` otherwise (Ollama's wording).
fn known_model(state: &AppState, body: &[u8]) -> Result<String, Rejection> {
    let requested = requested_model(body).map_err(reject)?;
    let name = model_name(&requested);
    if state.catalog.knows(name) {
        Ok(name.to_owned())
    } else {
        Err(reject(ApiError::new(
            FailureKind::NotFound,
            format!("model '{requested}' not found"),
        )))
    }
}

fn json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_nanos())
}

/// An error in Ollama's shape.
fn reject(e: impl Into<ApiError>) -> Rejection {
    Rejection::new(Protocol::Ollama, e)
}
