//! The Gemini API surface under `/v1beta` and `/v1` (protocols.md §4c, §5.4; clients.md §3.3):
//!
//! | route | answer |
//! |---|---|
//! | `POST …/models/{model}:generateContent` | one `GenerateContentResponse` ([`GeminiAggregator`]); with `?alt=sse`, a stream |
//! | `POST …/models/{model}:streamGenerateContent?alt=sse` | `data: <chunk>\n\n` only ([`GeminiStreamEgress`], [`Framing::Sse`]) |
//! | `POST …/models/{model}:streamGenerateContent` | one JSON array streamed element by element ([`Framing::JsonArray`]) |
//! | `POST …/models/{model}:countTokens` | `{"totalTokens":n}`, counted locally (o200k_base, [`codex_pipe_protocols::tokens`]) |
//! | `GET /v1beta/models`, `GET /v1beta/models/{model}` | the catalog as Gemini `Model` resources (`name: "models/<id>"`) |
//! | `GET /v1/models`, `GET /v1/models/{model}` | the same for a Gemini client ([`is_gemini_client`]), else OpenAI's list / model object |
//!
//! The model comes from the path; the key from `x-goog-api-key` or `?key=` (checked by the
//! API-key layer). Every error is `{"error":{"code","message","status"}}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use codex_pipe_protocols::gemini::{
    count_tokens_json, model_id, model_json, models_json, parse_count_tokens, parse_request,
    Framing, GeminiAggregator, GeminiConfig, GeminiStreamEgress,
};
use codex_pipe_protocols::{tokens, ApiError, FailureKind, Protocol, Translator};

use super::{models, prepare};
use crate::server::error::Rejection;
use crate::server::metrics::RequestSlot;
use crate::server::respond::call_and_respond;
use crate::server::AppState;

/// `POST …/models/{model}:{action}`: the action after the last `:` picks the handler.
pub async fn post_model(
    State(state): State<AppState>,
    slot: Option<Extension<RequestSlot>>,
    Path(target): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let Some((model, action)) = target.rsplit_once(':') else {
        return Err(not_found(format!(
            "unknown method on models/{target}: expected models/{{model}}:generateContent, :streamGenerateContent or :countTokens"
        )));
    };
    let model = model_id(model);
    let sse = query_param(query.as_deref(), "alt").is_some_and(|alt| alt == "sse");
    let slot = slot.map(|Extension(s)| s);
    match action {
        "generateContent" => generate(state, slot, model, &headers, &body, sse.then_some(Framing::Sse)).await,
        "streamGenerateContent" => {
            let framing = if sse { Framing::Sse } else { Framing::JsonArray };
            generate(state, slot, model, &headers, &body, Some(framing)).await
        }
        "countTokens" => count_tokens(&state, model, &body).await,
        other => Err(not_found(format!(
            "unknown method {other:?}: expected generateContent, streamGenerateContent or countTokens"
        ))),
    }
}

/// `generateContent` (`framing` `None`) or a stream.
async fn generate(
    state: AppState,
    slot: Option<RequestSlot>,
    model: &str,
    headers: &HeaderMap,
    body: &[u8],
    framing: Option<Framing>,
) -> Result<Response, Rejection> {
    let mut req = parse_request(body, model).map_err(reject)?;
    req.stream = framing.is_some();
    let p = prepare(&state, req, headers).map_err(reject)?;
    let config = GeminiConfig {
        model: model.to_owned(),
    };
    let (names, upstream) = (p.tool_names, p.upstream);
    match framing {
        Some(framing) => {
            call_and_respond(&state, slot, model, &upstream, || {
                Translator::new(
                    names.clone(),
                    GeminiStreamEgress::new(config.clone(), framing),
                )
            })
            .await
        }
        None => {
            call_and_respond(&state, slot, model, &upstream, || {
                Translator::new(names.clone(), GeminiAggregator::new(config.clone()))
            })
            .await
        }
    }
}

/// `countTokens`, answered locally. Tokenizing is CPU work (and the first call loads the
/// ranks), so it runs on the blocking pool, not on a runtime worker.
async fn count_tokens(state: &AppState, model: &str, body: &[u8]) -> Result<Response, Rejection> {
    let mut req = parse_count_tokens(body, model).map_err(reject)?;
    state.catalog.apply(&mut req);
    let count = tokio::task::spawn_blocking(move || tokens::count_request(&req))
        .await
        .map_err(|e| {
            reject(ApiError::new(
                FailureKind::Internal,
                format!("token counting failed: {e}"),
            ))
        })?;
    Ok(json(count_tokens_json(count)))
}

/// `GET /v1beta/models`.
pub async fn list(State(state): State<AppState>) -> Response {
    json(models_json(state.catalog.ids()))
}

/// `GET /v1beta/models/{model}`: 404 for a name the catalog does not know.
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, Rejection> {
    let id = model_id(&name);
    if state.catalog.knows(id) {
        Ok(json(model_json(id)))
    } else {
        Err(not_found(format!("model {id:?} is not in the catalog")))
    }
}

/// `GET /v1/models`: Gemini's list for a Gemini client, OpenAI's otherwise.
pub async fn v1_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if is_gemini_client(&headers, query.as_deref()) {
        list(State(state)).await
    } else {
        models::list(State(state)).await
    }
}

/// `GET /v1/models/{model}`: Gemini's `Model` for a Gemini client, OpenAI's model object
/// otherwise; 404 in the caller's shape for an unknown name.
pub async fn v1_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    if is_gemini_client(&headers, query.as_deref()) {
        return get(State(state), Path(name)).await;
    }
    if !state.catalog.knows(&name) {
        return Err(Rejection::new(
            Protocol::OpenAi,
            ApiError::new(
                FailureKind::NotFound,
                format!("The model '{name}' does not exist"),
            )
            .with_code("model_not_found")
            .with_param("model"),
        ));
    }
    let body =
        serde_json::json!({"id": name, "object": "model", "created": 0, "owned_by": "openai"});
    Ok(json(body.to_string().into_bytes()))
}

/// True for a request from a Gemini client: it carries `x-goog-api-key`, `x-goog-api-client`
/// or `?key=`, or a google-genai / Gemini CLI user agent. Such clients share `GET /v1/models`
/// with OpenAI's (clients.md §3.3: google-genai's Python default API version is `v1`).
pub fn is_gemini_client(headers: &HeaderMap, query: Option<&str>) -> bool {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    headers.contains_key("x-goog-api-key")
        || headers.contains_key("x-goog-api-client")
        || query_param(query, "key").is_some()
        || agent.contains("google-genai")
        || agent.contains("GeminiCLI")
}

/// The first value of `name` in a query string (not percent-decoded: the values read here
/// are plain words).
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn not_found(message: String) -> Rejection {
    Rejection::new(
        Protocol::Gemini,
        ApiError::new(FailureKind::NotFound, message),
    )
}

/// An error in Google's shape.
fn reject(e: impl Into<ApiError>) -> Rejection {
    Rejection::new(Protocol::Gemini, e)
}
