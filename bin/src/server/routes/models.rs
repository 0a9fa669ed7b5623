//! `GET /v1/models` (protocols.md §4a) and `GET /health`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::server::AppState;

/// `GET /v1/models`: the catalog, `{"object":"list","data":[{"id","object":"model",…}]}`.
pub async fn list(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.catalog.list_json(),
    )
        .into_response()
}

/// `GET /v1/models` for every client: Anthropic's shape when the request carries
/// `anthropic-version` (Claude Code's model discovery), Gemini's for a Gemini client, else
/// OpenAI's.
pub async fn list_for_client(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    query: axum::extract::RawQuery,
) -> Response {
    if headers.contains_key("anthropic-version") {
        super::anthropic::list_models(State(state), headers).await
    } else {
        super::gemini::v1_list(State(state), headers, query).await
    }
}

/// `GET /health`: `{"status":"ok","auth":<credentials usable>,"default_model":"<slug>"}`.
/// Always 200 while the process serves; `auth` says whether upstream calls can be signed.
pub async fn health(State(state): State<AppState>) -> Response {
    let auth = match state.responses.auth().credentials().await {
        Ok(_) => true,
        Err(e) => {
            tracing::info!(error = %e, "health: no usable credentials");
            false
        }
    };
    let default_model = state.catalog.resolve("").upstream;
    Json(json!({ "status": "ok", "auth": auth, "default_model": default_model })).into_response()
}
