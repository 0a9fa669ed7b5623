//! `GET /metrics` (Prometheus text, rendered by `metrics-exporter-prometheus`) and [`meter`], the
//! middleware that records every request once, when its body ends.
//!
//! ```text
//! request ─► meter: surface from the path, RequestSlot into the extensions, in-flight +1
//!              ─► API-key layer (names the key in the slot) ─► handler (model, account,
//!                 backend wait, final usage into the slot)
//!          ◄─ response body wrapped: first data frame = time to first byte; end or drop =
//!             metrics::record_request + one usage-log line + the account's usage counters
//! ```
//!
//! The wrapper's per-frame work is one branch (first byte seen or not); everything else happens
//! once per request. Paths that are not an API surface (`/healthz`, `/v1/models`, `/metrics`)
//! pass through unmetered.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use codex_pipe_protocols::Usage;
use http_body::{Frame, SizeHint};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::accounts::AccountPool;
use crate::metrics::{record_request, InFlight, RequestRecord};
use crate::usage_log::{UsageLine, UsageLog};

/// What the metering layer needs. Cheap to clone.
#[derive(Clone, Default)]
pub struct MetricsState {
    /// Renders `/metrics`; `None` when the recorder is not installed (the route answers 404).
    pub handle: Option<PrometheusHandle>,
    /// `--usage-log`.
    pub usage_log: Option<UsageLog>,
    /// The pool whose shared usage counters finished requests add to.
    pub accounts: Option<AccountPool>,
}

/// Per-request facts handlers fill in, found in the request's extensions
/// (`Option<Extension<RequestSlot>>`). Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct RequestSlot(Arc<Mutex<SlotData>>);

#[derive(Default, Debug)]
struct SlotData {
    model: String,
    account: Option<Arc<str>>,
    key: Option<Arc<str>>,
    usage: Option<Usage>,
    upstream_wait: Option<Duration>,
}

impl RequestSlot {
    fn with<R>(&self, f: impl FnOnce(&mut SlotData) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The model the client asked for.
    pub fn set_model(&self, model: &str) {
        self.with(|d| model.clone_into(&mut d.model));
    }

    /// The account that served the request and the wait for the backend's answer headers.
    pub fn set_upstream(&self, account: Arc<str>, waited: Duration) {
        self.with(|d| {
            d.account = Some(account);
            d.upstream_wait = Some(waited);
        });
    }

    /// The client key's name (set by the API-key layer).
    pub fn set_key(&self, name: Arc<str>) {
        self.with(|d| d.key = Some(name));
    }

    /// The answer's final token counts.
    pub fn set_usage(&self, usage: Usage) {
        self.with(|d| d.usage = Some(usage));
    }
}

/// The surface a path belongs to, or `None` for paths that are not metered.
pub fn surface_of(path: &str) -> Option<&'static str> {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    Some(match path {
        "/chat/completions" => "chat",
        "/responses" => "responses",
        "/responses/compact" => "compact",
        "/audio/transcriptions" => "transcriptions",
        "/messages" => "anthropic",
        "/api/chat" | "/api/generate" => "ollama",
        p if p.starts_with("beta/models/") || p.starts_with("/models/") && p.contains(':') => {
            "gemini"
        }
        _ => return None,
    })
}

/// The `GET /metrics` route with `state` applied, to merge into the app (behind its API-key
/// layer). The metering itself is [`meter`], a layer on the whole app.
pub fn routes(state: MetricsState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}

/// `GET /metrics`.
pub async fn render(State(state): State<MetricsState>) -> Response {
    let Some(handle) = state.handle else {
        return (axum::http::StatusCode::NOT_FOUND, "metrics are not enabled").into_response();
    };
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// The metering middleware (`axum::middleware::from_fn_with_state(state, meter)`), to be the
/// outermost layer of every API route.
pub async fn meter(State(state): State<MetricsState>, mut req: Request, next: Next) -> Response {
    let Some(surface) = surface_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let slot = RequestSlot::default();
    req.extensions_mut().insert(slot.clone());
    let in_flight = InFlight::start(surface);
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let finish = Finish {
        state,
        slot,
        start,
        surface,
        status,
        ttfb: None,
        _in_flight: in_flight,
    };
    Response::from_parts(
        parts,
        Body::new(MeteredBody {
            inner: body,
            finish: Some(finish),
        }),
    )
}

struct Finish {
    state: MetricsState,
    slot: RequestSlot,
    start: Instant,
    surface: &'static str,
    status: u16,
    ttfb: Option<Duration>,
    _in_flight: InFlight,
}

impl Finish {
    fn done(self) {
        let (model, account, key, usage, upstream_wait) = self.slot.with(|d| {
            (
                std::mem::take(&mut d.model),
                d.account.take(),
                d.key.take(),
                d.usage.take(),
                d.upstream_wait,
            )
        });
        let record = RequestRecord {
            surface: self.surface,
            model,
            status: self.status,
            key,
            latency: self.start.elapsed(),
            ttfb: self.ttfb,
            upstream_wait,
            usage,
        };
        record_request(&record);
        if let Some(log) = &self.state.usage_log {
            log.push(UsageLine::new(
                &record,
                account.as_deref(),
                SystemTime::now(),
            ));
        }
        if let (Some(pool), Some(account), Some(usage)) =
            (&self.state.accounts, &account, &record.usage)
        {
            pool.add_usage(account, usage);
        }
    }
}

/// The response body, recording the first data frame's time and the end (or drop) of the body.
struct MeteredBody {
    inner: Body,
    finish: Option<Finish>,
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(f) = self.finish.as_mut() {
                    if f.ttfb.is_none() && frame.is_data() {
                        f.ttfb = Some(f.start.elapsed());
                    }
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                if let Some(f) = self.finish.take() {
                    f.done();
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            f.done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::surface_of;

    #[test]
    fn surfaces_by_path() {
        assert_eq!(surface_of("/v1/chat/completions"), Some("chat"));
        assert_eq!(surface_of("/v1/responses"), Some("responses"));
        assert_eq!(surface_of("/v1/responses/compact"), Some("compact"));
        assert_eq!(surface_of("/audio/transcriptions"), Some("transcriptions"));
        assert_eq!(surface_of("/v1/messages"), Some("anthropic"));
        assert_eq!(surface_of("/api/chat"), Some("ollama"));
        assert_eq!(
            surface_of("/v1beta/models/gemini-x:streamGenerateContent"),
            Some("gemini")
        );
        assert_eq!(surface_of("/v1/models"), None);
        assert_eq!(surface_of("/healthz"), None);
        assert_eq!(surface_of("/metrics"), None);
    }
}
