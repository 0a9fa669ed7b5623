//! One thin file per surface: extract → translate → respond.
//!
//! | route | file | protocol |
//! |---|---|---|
//! | `POST /v1/chat/completions` | [`chat`] | OpenAI Chat Completions, streamed (`data:` chunks, `[DONE]`) or folded into one `chat.completion` |
//! | `POST /v1/responses`, `POST /v1/responses/compact` | [`responses`] | OpenAI Responses passthrough: the body fixed up for the backend, its events forwarded (or the final response collected); compaction, unary |
//! | `GET /v1/models`, `GET /health` | [`models`] | the model catalog; `{"status":"ok","auth":…,"default_model":…}` |
//! | `POST /v1/audio/transcriptions`, `/audio/transcriptions` | [`transcriptions`] | OpenAI (Whisper-style) transcriptions over the dictation endpoint |
//! | `POST /v1beta/models/{model}:generateContent` (also `:streamGenerateContent`, `:countTokens`, and under `/v1`), `GET /v1beta/models[/{model}]` | [`gemini`] | Gemini API; `GET /v1/models[/{model}]` answers Gemini clients in Gemini's shape |
//! | `POST /api/chat`, `/api/generate`, `GET /api/version`, `/api/tags`, `/api/ps`, `POST /api/show`, `/api/pull`, `GET /` | [`ollama`] | Ollama API |
//! | `POST /v1/messages`, `/v1/messages/count_tokens`, `HEAD /`, `HEAD /api/hello`; `GET /v1/models` with `anthropic-version` | [`anthropic`] | Anthropic Messages, streamed (named events, `ping`) or folded into one `message`; local token count; Claude Code's probes |
//! | `GET /healthz` | here | `{"status":"ok"}`, no API key |
//! | `GET /metrics` | [`crate::server::metrics`] | Prometheus text, behind the API key; merged only with metrics on |
//!
//! **Adding a protocol**: its folder in `protocols/src/<name>` (wire types, ingress, egress,
//! `error.rs`) and a [`codex_pipe_protocols::Protocol`] variant; here, one file whose handler
//! parses the body with the protocol's ingress, calls [`prepare`] and answers with
//! [`super::respond::call_and_respond`] (the upstream call, metering, the account move) and a
//! translator over the protocol's egress; one line in [`router`]; one line in
//! [`protocol_of`] so that 401 / 404 / 405 answers use the protocol's error shape.

pub mod anthropic;
pub mod chat;
pub mod gemini;
pub mod models;
pub mod ollama;
pub mod responses;
pub mod transcriptions;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use bytes::Bytes;
use codex_pipe_protocols::responses::{encode_request, ToolNameMap};
use codex_pipe_protocols::{ChatRequest, Protocol, ProtocolError};

use super::layers::{
    check_host, limit_head, limit_upstream, method_not_allowed, protocol_errors, require_api_key,
    require_json, unknown_route,
};
use super::AppState;
use crate::upstream::responses::UpstreamRequest;

/// The protocol whose error shape a request to `path` gets (for the answers the layers give
/// before a handler runs).
pub fn protocol_of(path: &str) -> Protocol {
    if path.starts_with("/v1/messages") {
        return Protocol::Anthropic;
    }
    if path == "/api" || path.starts_with("/api/") {
        Protocol::Ollama
    } else if path == "/v1beta"
        || path.starts_with("/v1beta/")
        || path
            .strip_prefix("/v1/models/")
            .is_some_and(|m| m.contains(':'))
    {
        Protocol::Gemini
    } else {
        Protocol::OpenAi
    }
}

/// The whole application (module table).
pub fn router(state: AppState) -> Router {
    let upstream = Router::new()
        .route("/v1/chat/completions", post(chat::handle))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/responses", post(responses::handle))
        .route("/v1/responses/compact", post(responses::handle_compact))
        .route("/v1beta/models/{target}", post(gemini::post_model))
        .route("/v1/models/{target}", post(gemini::post_model))
        .route("/api/chat", post(ollama::chat))
        .route("/api/generate", post(ollama::generate))
        .route_layer(middleware::from_fn_with_state(
            state.upstream_permits.clone(),
            limit_upstream,
        ))
        .route_layer(middleware::from_fn(require_json))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));
    let keyed = Router::new()
        .merge(upstream)
        .route("/v1/models", get(models::list_for_client))
        .route("/v1/models/{target}", get(gemini::v1_get))
        .route("/v1beta/models", get(gemini::list))
        .route("/v1beta/models/{target}", get(gemini::get))
        .route("/api/version", get(ollama::version))
        .route("/api/tags", get(ollama::tags))
        .route("/api/ps", get(ollama::ps))
        .route("/api/show", post(ollama::show))
        .route("/api/pull", post(ollama::pull))
        .merge(anthropic::routes(state.config.max_body_bytes))
        .route("/health", get(models::health))
        .merge(transcriptions::routes())
        .route_layer(middleware::from_fn_with_state(
            state.config.api_key.clone(),
            require_api_key,
        ));
    let allowed_hosts = state.config.allowed_hosts.clone();
    let metering = state.metrics.clone();
    let api_key = state.config.api_key.clone();
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/", get(ollama::root))
        .merge(anthropic::probes())
        .merge(keyed)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    // `GET /metrics` behind the key layer; the metering layer outermost, so it sees every
    // request once and its whole body.
    let app = match &metering {
        Some(m) => app.merge(
            crate::server::metrics::routes(m.clone())
                .route_layer(middleware::from_fn_with_state(api_key, require_api_key)),
        ),
        None => app,
    };
    let app = app
        .layer(middleware::from_fn(protocol_errors))
        .layer(middleware::from_fn_with_state(allowed_hosts, check_host))
        .layer(middleware::from_fn(limit_head));
    match metering {
        Some(m) => app.layer(middleware::from_fn_with_state(
            m,
            crate::server::metrics::meter,
        )),
        None => app,
    }
}

/// `GET /healthz`: `200 {"status":"ok"}` while the process serves requests.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// A canonical request made ready for the backend: what every translated route does between
/// its protocol's ingress and [`super::respond::call_and_respond`].
#[derive(Debug)]
pub struct Prepared {
    /// The backend call (body, `session_id`, subagent).
    pub upstream: UpstreamRequest,
    /// Tool names the encoder shortened, for the translator.
    pub tool_names: ToolNameMap,
    /// The model to report to the client: the name it asked for, else the resolved default.
    pub model: String,
    /// The client asked for a streamed answer.
    pub stream: bool,
}

/// Fills `req` from the request headers ([`ChatRequest::apply_headers`]: cache key, subagent;
/// what the body set wins), resolves its model through the catalog and encodes it.
///
/// # Errors
/// [`ProtocolError`] from [`encode_request`] (no model).
pub fn prepare(
    state: &AppState,
    mut req: ChatRequest,
    headers: &HeaderMap,
) -> Result<Prepared, ProtocolError> {
    req.apply_headers(header(headers));
    let requested = req.model.clone();
    state.catalog.apply(&mut req);
    let encoded = encode_request(&req)?;
    Ok(Prepared {
        upstream: UpstreamRequest {
            body: Bytes::from(encoded.body),
            session_id: req.prompt_cache_key,
            subagent: req.subagent,
        },
        tool_names: encoded.tool_names,
        model: if requested.trim().is_empty() {
            req.model
        } else {
            requested
        },
        stream: req.stream,
    })
}

/// A request header as text, by lower-case name (for
/// [`codex_pipe_protocols::ChatRequest::apply_headers`]).
pub fn header<'h>(headers: &'h HeaderMap) -> impl Fn(&str) -> Option<&'h str> {
    move |name| headers.get(name).and_then(|v| v.to_str().ok())
}

/// Unix time, seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
