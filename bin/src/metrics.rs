//! Prometheus metrics through the [`metrics`] facade and `metrics-exporter-prometheus` (which
//! writes the text exposition; nothing here formats it by hand).
//!
//! Everything is recorded once per request or per account event, never per streamed event, so
//! the streaming path costs nothing extra. Until [`install`] runs, every call goes to the facade's
//! no-op recorder.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `codex_pipe_requests_total` | counter | `surface`, `gen_ai_request_model`, `status`, `key` |
//! | `codex_pipe_request_duration_seconds` | histogram | `surface`, `gen_ai_request_model` |
//! | `codex_pipe_time_to_first_byte_seconds` | histogram | `surface`, `gen_ai_request_model` |
//! | `codex_pipe_overhead_seconds` | histogram | `surface` (time to first byte minus the wait for the backend's answer) |
//! | `codex_pipe_tokens_total` | counter | `surface`, `gen_ai_request_model`, `gen_ai_token_type` (`input`, `cached_input`, `output`, `reasoning`) |
//! | `codex_pipe_requests_in_flight` | gauge | `surface` |
//! | `codex_pipe_upstream_failures_total` | counter | `kind` (see `UpstreamError::kind`) |
//! | `codex_pipe_upstream_retries_total` | counter | `reason` (`rate_limited`, `forbidden`) |
//! | `codex_pipe_token_refreshes_total` | counter | `account`, `outcome` (`ok`, `error`) |
//! | `codex_pipe_account_requests_total` | counter | `account` |
//! | `codex_pipe_account_state` | gauge (1 for the current state, 0 for the others) | `account`, `state` (`available`, `cooling_down`, `disabled`) |
//! | `codex_pipe_account_cooldown_until_seconds` | gauge (Unix time) | `account` |
//! | `codex_pipe_account_quota_used_percent` | gauge | `account`, `window` (`primary`, `secondary`) |
//! | `codex_pipe_redis_up` | gauge | — |
//!
//! The label names `gen_ai.request.model` and `gen_ai.token.type` are the OpenTelemetry GenAI
//! attribute names; Prometheus spells them with underscores (`gen_ai_request_model`).

use std::sync::OnceLock;
use std::time::Duration;

use codex_pipe_protocols::Usage;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::accounts::QuotaSnapshot;

/// Requests answered.
pub const REQUESTS: &str = "codex_pipe_requests_total";
/// Whole request duration, seconds.
pub const DURATION: &str = "codex_pipe_request_duration_seconds";
/// Time to the first response byte, seconds.
pub const TTFB: &str = "codex_pipe_time_to_first_byte_seconds";
/// The proxy's own share of the time to first byte, seconds.
pub const OVERHEAD: &str = "codex_pipe_overhead_seconds";
/// Tokens by type.
pub const TOKENS: &str = "codex_pipe_tokens_total";
/// Requests being answered.
pub const IN_FLIGHT: &str = "codex_pipe_requests_in_flight";
/// Upstream failures by kind.
pub const FAILURES: &str = "codex_pipe_upstream_failures_total";
/// Attempts moved to another account.
pub const RETRIES: &str = "codex_pipe_upstream_retries_total";
/// Login refreshes.
pub const REFRESHES: &str = "codex_pipe_token_refreshes_total";
/// Requests sent through each account.
pub const ACCOUNT_REQUESTS: &str = "codex_pipe_account_requests_total";
/// Account state (1 = current).
pub const ACCOUNT_STATE: &str = "codex_pipe_account_state";
/// End of an account's cooldown, Unix seconds.
pub const ACCOUNT_COOLDOWN: &str = "codex_pipe_account_cooldown_until_seconds";
/// An account's quota use, percent.
pub const ACCOUNT_QUOTA: &str = "codex_pipe_account_quota_used_percent";
/// 1 while Redis answers.
pub const REDIS_UP: &str = "codex_pipe_redis_up";

/// OpenTelemetry GenAI attribute for the requested model.
pub const MODEL_LABEL: &str = "gen_ai.request.model";
/// OpenTelemetry GenAI attribute for the token type.
pub const TOKEN_TYPE_LABEL: &str = "gen_ai.token.type";

/// Histogram buckets of the duration metrics, seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];
/// Histogram buckets of the overhead metric, seconds.
const OVERHEAD_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global recorder (once; later calls return
/// the same handle) and describes every metric. Call it before serving; the handle renders
/// `/metrics` ([`crate::server::metrics`]).
///
/// # Errors
/// [`BuildError`] when another recorder was installed first.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(TTFB.into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(OVERHEAD.into()), OVERHEAD_BUCKETS)?
        .install_recorder()?;
    describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        REQUESTS,
        "Requests answered, by surface, model, HTTP status and client key."
    );
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Whole request duration, to the last byte."
    );
    describe_histogram!(TTFB, Unit::Seconds, "Time to the first response byte.");
    describe_histogram!(
        OVERHEAD,
        Unit::Seconds,
        "Time to first byte minus the wait for the backend's answer headers."
    );
    describe_counter!(TOKENS, "Tokens by type: input (cached included), cached_input, output (reasoning included), reasoning.");
    describe_gauge!(IN_FLIGHT, "Requests being answered.");
    describe_counter!(FAILURES, "Upstream failures by kind.");
    describe_counter!(
        RETRIES,
        "Attempts moved to another account before the first byte."
    );
    describe_counter!(REFRESHES, "ChatGPT login refreshes by account and outcome.");
    describe_counter!(ACCOUNT_REQUESTS, "Upstream attempts by account.");
    describe_gauge!(ACCOUNT_STATE, "1 for the account's current state.");
    describe_gauge!(
        ACCOUNT_COOLDOWN,
        "Unix time at which the account's cooldown ends."
    );
    describe_gauge!(
        ACCOUNT_QUOTA,
        "The account's quota use from the x-codex-* headers, percent."
    );
    describe_gauge!(REDIS_UP, "1 while the shared Redis answers.");
}

/// What one finished request recorded.
#[derive(Debug, Clone, Default)]
pub struct RequestRecord {
    /// `chat`, `responses`, `compact`, `transcriptions`, `anthropic`, `gemini`, `ollama`.
    pub surface: &'static str,
    /// The model the client asked for (empty when unknown).
    pub model: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The client key's name, when keys are named (`--api-keys-file`).
    pub key: Option<std::sync::Arc<str>>,
    /// Arrival to last byte.
    pub latency: Duration,
    /// Arrival to first body byte, when a byte was sent.
    pub ttfb: Option<Duration>,
    /// The wait for the backend's answer headers, when the backend was called.
    pub upstream_wait: Option<Duration>,
    /// The final token counts, when the answer carried them.
    pub usage: Option<Usage>,
}

/// Records one finished request: the request counter, the three histograms and the tokens.
pub fn record_request(r: &RequestRecord) {
    let model = r.model.clone();
    let key = r.key.as_deref().unwrap_or("").to_owned();
    counter!(REQUESTS, "surface" => r.surface, MODEL_LABEL => model.clone(), "status" => r.status.to_string(), "key" => key).increment(1);
    histogram!(DURATION, "surface" => r.surface, MODEL_LABEL => model.clone())
        .record(r.latency.as_secs_f64());
    if let Some(ttfb) = r.ttfb {
        histogram!(TTFB, "surface" => r.surface, MODEL_LABEL => model.clone())
            .record(ttfb.as_secs_f64());
        if let Some(wait) = r.upstream_wait {
            histogram!(OVERHEAD, "surface" => r.surface)
                .record(ttfb.saturating_sub(wait).as_secs_f64());
        }
    }
    if let Some(u) = &r.usage {
        for (kind, n) in [
            ("input", u.input_tokens),
            ("cached_input", u.cached_input_tokens),
            ("output", u.output_tokens),
            ("reasoning", u.reasoning_output_tokens),
        ] {
            counter!(TOKENS, "surface" => r.surface, MODEL_LABEL => model.clone(), TOKEN_TYPE_LABEL => kind)
                .increment(n);
        }
    }
}

/// Holds one in-flight request of `surface`; dropping it ends it.
#[derive(Debug)]
pub struct InFlight(&'static str);

impl InFlight {
    /// Counts a request of `surface` as in flight until the value is dropped.
    pub fn start(surface: &'static str) -> Self {
        gauge!(IN_FLIGHT, "surface" => surface).increment(1.0);
        InFlight(surface)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(IN_FLIGHT, "surface" => self.0).decrement(1.0);
    }
}

/// An upstream failure of `kind` (e.g. `rate_limited`, `server_error`, `unauthorized`).
pub fn record_upstream_failure(kind: &'static str) {
    counter!(FAILURES, "kind" => kind).increment(1);
}

/// An attempt moved to another account because of `reason` (`rate_limited`, `forbidden`).
pub fn record_retry(reason: &'static str) {
    counter!(RETRIES, "reason" => reason).increment(1);
}

/// A refresh of `account`'s login ended (`ok` or not).
pub fn record_refresh(account: &str, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    counter!(REFRESHES, "account" => account.to_owned(), "outcome" => outcome).increment(1);
}

/// An upstream attempt went through `account`.
pub fn record_account_request(account: &str) {
    counter!(ACCOUNT_REQUESTS, "account" => account.to_owned()).increment(1);
}

/// The states of [`ACCOUNT_STATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Usable.
    Available,
    /// Cooling down after a 429.
    CoolingDown,
    /// Disabled after a 403.
    Disabled,
}

/// `account` is now in `state`.
pub fn record_account_state(account: &str, state: AccountState) {
    for (s, name) in [
        (AccountState::Available, "available"),
        (AccountState::CoolingDown, "cooling_down"),
        (AccountState::Disabled, "disabled"),
    ] {
        let v = if s == state { 1.0 } else { 0.0 };
        gauge!(ACCOUNT_STATE, "account" => account.to_owned(), "state" => name).set(v);
    }
}

/// `account` cools down until `until_ms` (Unix milliseconds).
pub fn record_account_cooldown(account: &str, until_ms: u64) {
    gauge!(ACCOUNT_COOLDOWN, "account" => account.to_owned()).set(until_ms as f64 / 1000.0);
}

/// `account`'s latest quota snapshot.
pub fn record_account_quota(account: &str, q: &QuotaSnapshot) {
    for (window, w) in [("primary", &q.primary), ("secondary", &q.secondary)] {
        if let Some(p) = w.used_percent {
            gauge!(ACCOUNT_QUOTA, "account" => account.to_owned(), "window" => window).set(p);
        }
    }
}

/// Redis answers (`true`) or not.
pub fn record_redis_up(up: bool) {
    gauge!(REDIS_UP).set(if up { 1.0 } else { 0.0 });
}
