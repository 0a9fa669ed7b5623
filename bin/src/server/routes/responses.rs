//! `POST /v1/responses` and `POST /v1/responses/compact`: the client's own Responses body,
//! parsed once, its model resolved through the catalog (aliases, `-high` / `-fast` suffixes, the
//! default effort) and fixed up for the Codex backend (`store:false`, `stream:true`,
//! `instructions`, unsupported fields dropped, long tool names shortened); the backend's events
//! forwarded unchanged except for restored tool names ([`PassthroughStream`]), or the final
//! response collected for `stream:false` ([`PassthroughCollect`]). The hold-back, in-band
//! errors and bad-event policy are the translator's, as for every protocol.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use codex_pipe_protocols::canonical::SESSION_HEADERS;
use codex_pipe_protocols::responses::{
    fixup_compact_object, fixup_responses_object, parse_object, resolve_model, PassthroughCollect,
    PassthroughStream, ToolNameMap,
};
use codex_pipe_protocols::{Protocol, Translator};
use serde_json::Value;

use super::header;
use codex_pipe_protocols::ApiError;

use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::{answer, call_and_respond};
use crate::server::AppState;
use crate::upstream::responses::UpstreamRequest;

/// The conversation id for the `session_id` header: the client's header, else the body's
/// `prompt_cache_key`.
fn session_of(headers: &HeaderMap, prompt_cache_key: Option<String>) -> Option<String> {
    let get = header(headers);
    SESSION_HEADERS
        .iter()
        .find_map(|name| get(name).filter(|v| !v.is_empty()))
        .map(str::to_owned)
        .or(prompt_cache_key)
}

fn subagent_of(headers: &HeaderMap) -> Option<String> {
    header(headers)(codex_pipe_protocols::canonical::SUBAGENT_HEADER).map(str::to_owned)
}

/// `POST /v1/responses`.
pub async fn handle(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let mut obj = parse_object(&body).map_err(reject)?;
    drop(body);
    let model = obj
        .get("model")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_owned();
    resolve_model(&mut obj, &state.catalog);
    let fixed = fixup_responses_object(obj).map_err(reject)?;
    if !fixed.dropped.is_empty() {
        tracing::debug!(dropped = ?fixed.dropped, "fields the backend rejects were dropped");
    }
    let upstream = UpstreamRequest {
        session_id: session_of(&headers, fixed.prompt_cache_key),
        subagent: subagent_of(&headers),
        body: Bytes::from(fixed.body),
    };
    let (slot, names) = (slot.map(|Extension(s)| s), fixed.tool_names);
    // The egress restores names in the raw events; the translator's ingress reads them as the
    // backend sent them.
    if fixed.client_stream {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(
                ToolNameMap::default(),
                PassthroughStream::new(names.clone()),
            )
        })
        .await
    } else {
        call_and_respond(&state, slot, &model, &upstream, || {
            Translator::new(
                ToolNameMap::default(),
                PassthroughCollect::new(names.clone()),
            )
        })
        .await
    }
}

/// `POST /v1/responses/compact`.
pub async fn handle_compact(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let mut obj = parse_object(&body).map_err(reject)?;
    drop(body);
    if let Some(Extension(slot)) = &slot {
        slot.set_model(
            obj.get("model")
                .and_then(|m| m.as_str())
                .unwrap_or_default(),
        );
    }
    resolve_model(&mut obj, &state.catalog);
    let fixed = fixup_compact_object(obj).map_err(reject)?;
    let started = std::time::Instant::now();
    let answer_body = state
        .upstream_compact(&UpstreamRequest {
            session_id: session_of(&headers, fixed.prompt_cache_key),
            subagent: subagent_of(&headers),
            body: Bytes::from(fixed.body),
        })
        .await
        .map_err(reject)?;
    if let Some(Extension(slot)) = &slot {
        slot.set_upstream(answer_body.account.clone(), started.elapsed());
    }
    let body = if fixed.tool_names.is_empty() {
        answer_body.body
    } else {
        Bytes::from(restore_compact_names(&fixed.tool_names, &answer_body.body))
    };
    Ok(answer(
        body.into(),
        "application/json",
        false,
        answer_body.headers,
    ))
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

/// An error in the OpenAI shape.
fn reject(e: impl Into<ApiError>) -> Rejection {
    Rejection::new(Protocol::OpenAi, e)
}
