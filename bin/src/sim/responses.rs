//! Simulated Codex Responses backend: `POST /backend-api/codex/responses` (SSE) and
//! `POST /backend-api/codex/responses/compact` (JSON), protocols.md §1 and the §8 checklist.
//!
//! A test double, never a fallback. Every request must pass [`SimAuth::check_request`]
//! (401 `{"detail":"Unauthorized"}` otherwise), then is validated like the real backend:
//!
//! | request | answer |
//! |---|---|
//! | a field outside the backend's request struct (`max_output_tokens`, `temperature`, `top_p`, `stream_options`, …) | 400 `{"detail":"Unsupported parameter: <name>"}` |
//! | `instructions` missing | 400 `{"detail":"Instructions are required"}` |
//! | `store` not `false` / `stream` not `true` | 400 `{"detail":"Store must be set to false"}` / `{"detail":"Stream must be set to true"}` |
//! | a `function_call` without its `function_call_output` (or the reverse) | 400 `{"error":{"message":"No tool output found for function call <id>.","type":"invalid_request_error","param":"input",…}}` |
//! | a tool name, `call_id` or item `name` over 64 bytes | 400 `string_above_max_length` |
//!
//! Answers are `200 text/event-stream` with `x-codex-primary-*` / `x-codex-secondary-*`
//! rate-limit headers. The scenario is chosen by a marker in the text of the **last user
//! message**:
//!
//! | marker | stream |
//! |---|---|
//! | `sim:text` (default) | one message streamed word by word: [`SIM_TEXT`] |
//! | `sim:reasoning` | a reasoning item with two summary parts, then the text |
//! | `sim:tool` | one call of the first declared function tool, arguments in three deltas (values generated from its JSON schema: strings `Paris`, integers `1`, …) |
//! | `sim:reasoning_tool` | a reasoning item (summary and `encrypted_content`), then one call of the first declared function tool: what a Gemini client gets as a `functionCall` with a `thoughtSignature` |
//! | `sim:parallel_tools` | two calls (first and second declared tool, or the first twice), interleaved: call 2 starts before call 1's arguments finish |
//! | `sim:args_on_done` | one call whose arguments come only with `function_call_arguments.done` |
//! | `sim:empty_completed_output` | the text, then `response.completed` with `output: []` and null usage details |
//! | `sim:failed_context` | `response.failed` with `context_length_exceeded` |
//! | `sim:failed_rate_limit` | `response.failed` with `rate_limit_exceeded`, "Please try again in 1.5s." |
//! | `sim:incomplete` | two text deltas, then `response.incomplete` (`max_output_tokens`) |
//! | `sim:error_event` | two text deltas, then an in-stream `error` event (`server_error`) |
//! | `sim:http_429` | HTTP 429 `{"error":{"type":"usage_limit_reached",…,"resets_in_seconds":7}}` |
//! | `sim:http_500` | HTTP 500 on every attempt |
//! | `sim:flaky` | HTTP 503 the first time a given body is seen, the text answer when it is resent |
//! | `sim:premature_close` | two text deltas, then the body ends without a terminal event |
//! | `sim:echo` | the answer text is JSON `{"headers":{…},"body":<the request>}`: what the backend received |
//! | `sim:think_tool` | a reasoning item (with `encrypted_content`), then one call of the first declared function tool |
//! | `sim:bash_echo` | a reasoning item, then one call of the tool named `Bash` with `{"command":"echo sim-\"bash\"-ok"}` (its output, `sim-bash-ok`, differs from the command text) |
//! | `sim:web_search` | (with the `web_search` tool declared) a `web_search_call` item (`in_progress`, `searching`, `completed`, `action.query`), then a message |
//! | `sim:silent_reasoning` or `sim:silent_reasoning:<ms>` | a reasoning item opens, then nothing for 20 s (or `<ms>`), then its summary and the text: a long reasoning phase |
//! | `sim:slow` or `sim:slow:<ms>` | a modifier: waits 100 ms (or `<ms>`) between events; combine it with any other marker |
//! | `sim:hang` | accepts the request and never answers (header timeouts) |
//! | `sim:deltas:<n>` | a modifier of the text answer: `n` one-word deltas (throughput benchmarks) |
//!
//! Reasoning items carry an `encrypted_content` the simulator issued (`gAAAAsim…`, with a
//! per-simulator random part). A request that sends a `reasoning` item back with an
//! `encrypted_content` this simulator did not issue gets the backend's 400
//! `{"error":{…,"code":"invalid_encrypted_content"}}` ("The encrypted content … could not be
//! verified."), so a client that mangles or forges reasoning fails as it would upstream.
//!
//! Without a marker: when the request declares tools and its input ends with
//! `function_call_output` items, the answer quotes those outputs (`Tool output received: call_…:
//! <output>`), so a tool round trip completes; when `text.format` is a `json_schema`, the answer
//! is a JSON value generated from that schema; otherwise `sim:text`. A round trip keeps working
//! with a marker too: trailing tool outputs win over the marker.
//!
//! `POST …/responses/compact` validates the same way (its own field set, no `store`/`stream`)
//! and answers `{"output":[{"type":"compaction","encrypted_content":"…"}]}`.
//!
//! `GET /backend-api/codex/sim/stats` (simulator only) returns counters:
//! `{"requests","rejected","streams_started","streams_finished","streams_aborted","compactions",
//! "in_flight","max_in_flight","reasoning_verified"}` (`in_flight`: streams and compactions being
//! answered now; `max_in_flight`: the most at any moment, so a test can check a client's
//! concurrency limit):
//! every POST, those answered with an error status (auth, validation, `sim:http_*`, the first
//! `sim:flaky` try), event streams begun, written to the end, and *aborted* (the client went
//! away before the last event was written), compactions served, and reasoning items sent back
//! whose `encrypted_content` verified.

mod scenario;
mod script;
mod validate;

use std::collections::HashSet;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use self::scenario::BASH_ECHO_OUTPUT;
use self::scenario::{plan, play, Scenario};
pub use self::script::SIM_TEXT;
use self::script::{Ctx, Script};
use self::validate::{check_encrypted, validate, COMPACT_FIELDS, RESPONSES_FIELDS};
use super::oauth::SimAuth;

/// Route of the streaming endpoint.
pub const RESPONSES_PATH: &str = "/backend-api/codex/responses";
/// Route of the compaction endpoint.
pub const COMPACT_PATH: &str = "/backend-api/codex/responses/compact";
/// Route of the simulator's counters.
pub const STATS_PATH: &str = "/backend-api/codex/sim/stats";

/// Default delay between events of `sim:slow`.
pub const DEFAULT_SLOW_DELAY: Duration = Duration::from_millis(100);

/// Largest request body read (bytes).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Most body hashes remembered for `sim:flaky`.
const MAX_FLAKY_SEEN: usize = 1024;

/// The backend base URL of a simulator at `sim_base_url` (`http://127.0.0.1:<port>`), for
/// [`crate::upstream::responses::ResponsesConfig::base_url`].
pub fn responses_base_url(sim_base_url: &str) -> String {
    format!("{}/backend-api/codex", sim_base_url.trim_end_matches('/'))
}

#[derive(Debug, Default)]
struct Stats {
    requests: AtomicUsize,
    rejected: AtomicUsize,
    started: AtomicUsize,
    finished: AtomicUsize,
    aborted: AtomicUsize,
    compactions: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    reasoning_verified: AtomicUsize,
}

/// One answer being given (a stream until it ends or is dropped, a compaction until it
/// returns), counted in `in_flight` / `max_in_flight`.
struct InFlight(Arc<Stats>);

impl InFlight {
    fn new(stats: &Arc<Stats>) -> Self {
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(stats.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct SimState {
    auth: SimAuth,
    stats: Arc<Stats>,
    responses: Arc<AtomicU64>,
    flaky_seen: Arc<Mutex<HashSet<u64>>>,
    /// Reasoning `encrypted_content` values issued, accepted back in later requests.
    issued: Arc<Mutex<HashSet<String>>>,
    secret: u64,
}

/// The routes of this module (state applied), merged into [`super::Sim::router`].
pub fn router(auth: SimAuth) -> Router {
    let state = SimState {
        auth,
        stats: Arc::default(),
        responses: Arc::default(),
        flaky_seen: Arc::default(),
        issued: Arc::default(),
        secret: uuid::Uuid::new_v4().as_u64_pair().0,
    };
    Router::new()
        .route(RESPONSES_PATH, post(responses))
        .route(COMPACT_PATH, post(compact))
        .route(STATS_PATH, get(stats))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

async fn stats(State(state): State<SimState>) -> Json<Value> {
    let s = &state.stats;
    let n = |a: &AtomicUsize| a.load(Ordering::SeqCst);
    Json(json!({
        "requests": n(&s.requests),
        "rejected": n(&s.rejected),
        "streams_started": n(&s.started),
        "streams_finished": n(&s.finished),
        "streams_aborted": n(&s.aborted),
        "compactions": n(&s.compactions),
        "in_flight": n(&s.in_flight),
        "max_in_flight": n(&s.max_in_flight),
        "reasoning_verified": n(&s.reasoning_verified),
    }))
}

fn rate_limit_headers(headers: &mut HeaderMap) {
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() + 3600)
        .unwrap_or_default();
    for (name, value) in [
        ("x-codex-primary-used-percent", "12.5".to_owned()),
        ("x-codex-primary-window-minutes", "300".to_owned()),
        ("x-codex-primary-reset-at", reset.to_string()),
        ("x-codex-secondary-used-percent", "40".to_owned()),
        ("x-codex-secondary-window-minutes", "10080".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

async fn responses(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    state.stats.requests.fetch_add(1, Ordering::SeqCst);
    if let Err(rejection) = state.auth.check_request(&headers) {
        state.stats.rejected.fetch_add(1, Ordering::SeqCst);
        return rejection.into_response();
    }
    let obj = match validate(&body, RESPONSES_FIELDS, true) {
        Ok(obj) => obj,
        Err(rejection) => {
            state.stats.rejected.fetch_add(1, Ordering::SeqCst);
            return rejection.into_response();
        }
    };
    let verified = match state.issued.lock() {
        Ok(issued) => check_encrypted(&obj, &issued),
        Err(_) => Ok(0),
    };
    match verified {
        Ok(n) => {
            state
                .stats
                .reasoning_verified
                .fetch_add(n, Ordering::SeqCst);
        }
        Err(rejection) => {
            state.stats.rejected.fetch_add(1, Ordering::SeqCst);
            return rejection.into_response();
        }
    }
    let plan = plan(&obj);

    match plan.scenario {
        Scenario::Http429 => {
            state.stats.rejected.fetch_add(1, Ordering::SeqCst);
            let resets_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + 7)
                .unwrap_or_default();
            let body = json!({"error": {"type": "usage_limit_reached",
                "message": "The usage limit has been reached (sim:http_429).",
                "plan_type": "plus", "resets_at": resets_at, "resets_in_seconds": 7}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        }
        Scenario::Http500 => {
            state.stats.rejected.fetch_add(1, Ordering::SeqCst);
            let body = json!({"error": {"type": "server_error", "code": "server_error",
                "message": "The simulated backend failed (sim:http_500)."}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
        Scenario::Hang => {
            // Accept and never answer (until the client gives up).
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Scenario::Flaky => {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            body.hash(&mut hasher);
            let first_time = state.flaky_seen.lock().map(|mut seen| {
                if seen.len() >= MAX_FLAKY_SEEN {
                    seen.clear();
                }
                seen.insert(hasher.finish())
            });
            if first_time.unwrap_or(true) {
                state.stats.rejected.fetch_add(1, Ordering::SeqCst);
                let body = json!({"error": {"type": "service_unavailable_error",
                    "code": "server_is_overloaded", "message": "The server is overloaded (sim:flaky)."}});
                return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            }
        }
        _ => {}
    }

    let n = state.responses.fetch_add(1, Ordering::SeqCst) + 1;
    let field = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    let ctx = Ctx {
        n,
        model: field("model"),
        instructions: field("instructions"),
        tools: obj.get("tools").cloned().unwrap_or_else(|| json!([])),
        tool_choice: obj
            .get("tool_choice")
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        parallel_tool_calls: obj
            .get("parallel_tool_calls")
            .cloned()
            .unwrap_or(Value::Bool(false)),
        reasoning: field("reasoning"),
        input_tokens: (body.len() as u64) / 4 + 1,
        secret: state.secret,
    };
    let mut s = Script::new(ctx);
    play(&mut s, &plan, &headers, &obj);
    if let Ok(mut issued) = state.issued.lock() {
        issued.extend(s.issued().iter().cloned());
    }
    let delay = plan.delay;
    let pauses = s.pauses().to_vec();
    let frames = s.finish();

    state.stats.started.fetch_add(1, Ordering::SeqCst);
    let guard = StreamGuard {
        stats: Some(state.stats.clone()),
        _in_flight: InFlight::new(&state.stats),
    };
    let stream = futures::stream::unfold(
        (frames.into_iter().enumerate(), guard, pauses),
        move |(mut frames, mut guard, pauses)| async move {
            let next = frames.next();
            if let Some((i, _)) = &next {
                let pause = pauses.iter().find(|(at, _)| at == i).map(|(_, d)| *d);
                match (pause, delay) {
                    (Some(d), _) => tokio::time::sleep(d).await,
                    (None, Some(d)) if *i > 0 => tokio::time::sleep(d).await,
                    _ => {}
                }
            }
            match next {
                Some((_, frame)) => Some((Ok::<_, Infallible>(frame), (frames, guard, pauses))),
                None => {
                    guard.finish();
                    None
                }
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    rate_limit_headers(h);
    resp
}

/// Counts a stream as finished ([`StreamGuard::finish`]) or, when its body is dropped before,
/// as aborted.
struct StreamGuard {
    stats: Option<Arc<Stats>>,
    _in_flight: InFlight,
}

impl StreamGuard {
    fn finish(&mut self) {
        if let Some(stats) = self.stats.take() {
            stats.finished.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(stats) = self.stats.take() {
            stats.aborted.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn compact(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    state.stats.requests.fetch_add(1, Ordering::SeqCst);
    if let Err(rejection) = state.auth.check_request(&headers) {
        state.stats.rejected.fetch_add(1, Ordering::SeqCst);
        return rejection.into_response();
    }
    let obj = match validate(&body, COMPACT_FIELDS, false) {
        Ok(obj) => obj,
        Err(rejection) => {
            state.stats.rejected.fetch_add(1, Ordering::SeqCst);
            return rejection.into_response();
        }
    };
    let _in_flight = InFlight::new(&state.stats);
    // `sim:slow:<ms>` in the last user message delays the answer.
    if let Some(delay) = plan(&obj).delay {
        tokio::time::sleep(delay).await;
    }
    let n = state.stats.compactions.fetch_add(1, Ordering::SeqCst) + 1;
    let items = obj
        .get("input")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let body = json!({"output": [{"type": "compaction",
        "encrypted_content": format!("gAAAAsimcompaction{n:06}_{items}items")}]});
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    rate_limit_headers(resp.headers_mut());
    resp
}
