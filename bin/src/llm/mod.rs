//! The LLM HTTP surfaces served through the Codex backend.
//!
//! | route | module | what |
//! |---|---|---|
//! | `POST /v1/chat/completions` | `chat` | OpenAI Chat Completions, streaming (`data:` chunks, `[DONE]`) and not, translated through the canonical model |
//! | `POST /v1/responses` | `responses` | OpenAI Responses passthrough: body fixed up, backend events forwarded unchanged (or collected for `stream:false`) |
//! | `POST /v1/responses/compact` | `responses` | the backend's history compaction, unary JSON |
//! | `GET /v1/models` | `models` | the model catalog |
//! | `GET /health` | `models` | `{"status":"ok","auth":<bool>,"default_model":…}` |
//!
//! Every surface calls the backend through [`ResponsesClient`] (401 refresh, bounded resends
//! before the first byte, idle timeout) and streams with the engine's driver: each upstream
//! event is translated and written to the client as it arrives, one body chunk per upstream
//! read, with SSE keep-alives during silences. Errors are OpenAI error bodies with the status
//! of protocols.md §5.7 before the first byte ([`error`]), and in-band frames after it.
//! Dropping a client connection drops the upstream request.
//!
//! The API key check and the concurrency limit are the embedding server's layers; this router
//! only sets the body size limit ([`LlmConfig::max_body_bytes`]) and has no fallback, so it
//! merges into a router that has one.

mod chat;
pub mod error;
mod models;
mod responses;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use codex_pipe_protocols::models::ModelCatalog;

use crate::auth::AuthStore;
use crate::upstream::responses::{ResponsesClient, ResponsesConfig, SUBAGENT_HEADER};

pub use error::LlmError;

/// Default interval of SSE keep-alive comments during upstream silences.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Default [`LlmConfig::max_body_bytes`]: 64 MiB (long conversations carry images as data URLs).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Settings of the LLM surfaces.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Send `: keep-alive` after this long without output on a started stream; `None` never.
    pub keep_alive: Option<Duration>,
    /// Largest request body read, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What the LLM handlers share. Cheap to clone.
#[derive(Clone)]
pub struct LlmState {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: ResponsesClient,
    catalog: ModelCatalog,
    config: LlmConfig,
}

impl LlmState {
    /// State over the shared HTTP client and login, for the backend at `upstream_base_url`
    /// (e.g. [`crate::upstream::responses::DEFAULT_RESPONSES_BASE_URL`]), with default
    /// settings.
    pub fn new(
        http: reqwest::Client,
        auth: AuthStore,
        upstream_base_url: impl Into<String>,
        catalog: ModelCatalog,
    ) -> Self {
        let config = ResponsesConfig {
            base_url: upstream_base_url.into(),
            ..ResponsesConfig::default()
        };
        Self::from_parts(
            ResponsesClient::new(http, auth, config),
            catalog,
            LlmConfig::default(),
        )
    }

    /// State from a configured backend client.
    pub fn from_parts(upstream: ResponsesClient, catalog: ModelCatalog, config: LlmConfig) -> Self {
        LlmState {
            inner: Arc::new(Inner {
                upstream,
                catalog,
                config,
            }),
        }
    }

    /// The backend client.
    pub fn upstream(&self) -> &ResponsesClient {
        &self.inner.upstream
    }

    /// The model catalog.
    pub fn catalog(&self) -> &ModelCatalog {
        &self.inner.catalog
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.inner.config
    }
}

/// The routes of the module docs, with `state` applied.
pub fn llm_router(state: LlmState) -> Router {
    let limit = state.config().max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(chat::handle))
        .route("/v1/responses", post(responses::handle))
        .route("/v1/responses/compact", post(responses::handle_compact))
        .route("/v1/models", get(models::list))
        .route("/health", get(models::health))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The client's `x-openai-subagent` header, passed through to the backend.
fn subagent_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SUBAGENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
