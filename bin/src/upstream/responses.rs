//! The Codex Responses backend client: `POST {base}/responses` (SSE) and
//! `POST {base}/responses/compact` (unary JSON), protocols.md §1.
//!
//! ```text
//! UpstreamRequest ─► headers as Codex sends them ─► POST ─┬─ 2xx ─► ResponsesStream (body chunks, idle timeout)
//!                                                         ├─ 401 ─► refresh once ─► resend
//!                                                         ├─ 5xx / transport ─► resend (≤ max_retries, backoff)
//!                                                         ├─ 429 / 403 with several accounts ─► next account (crate::accounts)
//!                                                         └─ 4xx / 429 ─► UpstreamError::Status (message, retry hint)
//! ```
//!
//! The client holds an [`AccountPool`]; a pool of one login ([`ResponsesClient::new`]) behaves
//! as that login alone: no account is ever skipped and the upstream's own 429 reaches the caller.
//!
//! Retries happen only before the response headers arrive: once a 2xx answer is returned the
//! stream is committed and its bytes may already be on their way to a client, so a failure after
//! that is reported, never replayed. Dropping the returned stream drops the reqwest response,
//! which closes the upstream connection: a client that goes away cancels the upstream turn.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use codex_pipe_protocols::{FailureKind, UpstreamFailure};
use futures::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use crate::accounts::{AccountPool, Lease, PoolError};
use crate::auth::{AuthError, AuthStore, Credentials};

mod status;

use status::status_error;
pub use status::{parse_status_error, StatusError};

/// Default backend base URL when signed in with ChatGPT (protocols.md §1.1).
pub const DEFAULT_RESPONSES_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";

/// `originator` header value of the Codex CLI (protocols.md §1.2).
pub const CODEX_ORIGINATOR: &str = "codex_cli_rs";

/// Codex CLI version announced in the `User-Agent` and `version` headers.
pub const CODEX_CLIENT_VERSION: &str = "0.169.0";

/// Default idle timeout between two upstream body chunks (Codex: 300 s, protocols.md §1.7).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Largest `/responses/compact` answer read (bytes).
const MAX_COMPACT_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Settings of a [`ResponsesClient`].
#[derive(Debug, Clone)]
pub struct ResponsesConfig {
    /// Backend base URL without a trailing slash; `/responses` and `/responses/compact` are
    /// appended. Default [`DEFAULT_RESPONSES_BASE_URL`]; the simulated backend's is
    /// `http://127.0.0.1:<port>/backend-api/codex`.
    pub base_url: String,
    /// Resends after a 5xx answer or a transport failure, before any response header arrived
    /// (default 2; 429 and other 4xx are never resent).
    pub max_retries: u32,
    /// Delay before the first resend; doubled for each further one (default 250 ms).
    pub retry_backoff: Duration,
    /// Longest silence between two body chunks before the stream fails with
    /// [`UpstreamError::IdleTimeout`] (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// Whole-request limit, from connect to the last body byte; it replaces the shared HTTP
    /// client's `--request-timeout`, which is sized for short calls (default 1 hour).
    pub total_timeout: Duration,
    /// Longest wait for the response headers of one attempt (an upstream that accepts the
    /// connection and never answers); then the call fails with [`UpstreamError::HeaderTimeout`],
    /// without a resend (default 300 s; the proxy sets `--request-timeout-seconds`).
    pub header_timeout: Duration,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            base_url: DEFAULT_RESPONSES_BASE_URL.to_owned(),
            max_retries: 2,
            retry_backoff: Duration::from_millis(250),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            total_timeout: Duration::from_secs(3600),
            header_timeout: Duration::from_secs(300),
        }
    }
}

/// One call to the backend.
#[derive(Debug, Clone, Default)]
pub struct UpstreamRequest {
    /// The JSON body, already in the backend's shape (`encode_request` or a fix-up).
    pub body: Bytes,
    /// Conversation id sent as `session_id` (Codex sends its `prompt_cache_key` there).
    pub session_id: Option<String>,
    /// Value of the `x-openai-subagent` header (`review`, `compact`, …), passed through.
    pub subagent: Option<String>,
}

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No usable login, or the refresh after a 401 failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No account can take the request: every one cools down (a 429 with the earliest reset as
    /// `Retry-After`) or is disabled.
    #[error(transparent)]
    Accounts(#[from] PoolError),
    /// The backend answered with an error status (after the 401 refresh and the 5xx resends).
    #[error("{0}")]
    Status(Box<StatusError>),
    /// The request could not be sent or its response headers not read (after the resends).
    #[error("cannot reach the Codex backend: {0}")]
    Connect(#[source] reqwest::Error),
    /// The response body failed after the headers arrived.
    #[error("the Codex backend connection failed mid-response: {0}")]
    Body(#[source] reqwest::Error),
    /// No body chunk arrived for `after`.
    #[error("the Codex backend sent nothing for {} s", after.as_secs_f64())]
    IdleTimeout {
        /// The configured idle timeout.
        after: Duration,
    },
    /// The response headers did not arrive within `after`.
    #[error("the Codex backend did not answer within {} s", after.as_secs_f64())]
    HeaderTimeout {
        /// The configured header timeout.
        after: Duration,
    },
    /// The configured base URL does not form a valid URL.
    #[error("invalid Codex backend URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as built from [`ResponsesConfig::base_url`].
        url: String,
        /// The parse error.
        reason: String,
    },
    /// A unary answer was larger than the client reads.
    #[error("the Codex backend answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl UpstreamError {
    /// A short name for the metrics' `kind` label: `rate_limited`, `forbidden`,
    /// `unauthorized`, `client_error`, `server_error`, `no_account`, `auth`, `connect`, `body`,
    /// `idle_timeout`, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Status(s) => match s.status {
                429 => "rate_limited",
                403 => "forbidden",
                401 => "unauthorized",
                400..=499 => "client_error",
                _ => "server_error",
            },
            UpstreamError::Accounts(_) => "no_account",
            UpstreamError::Auth(_) => "auth",
            UpstreamError::Connect(_) => "connect",
            UpstreamError::Body(_) => "body",
            UpstreamError::IdleTimeout { .. } => "idle_timeout",
            _ => "other",
        }
    }
}

impl UpstreamError {
    /// This error as the one upstream failure type, which every protocol knows how to answer.
    pub fn failure(&self) -> UpstreamFailure {
        let failure = |kind, code: &str| UpstreamFailure::new(kind, code, self.to_string());
        match self {
            UpstreamError::Auth(e) => e.failure(),
            UpstreamError::Accounts(p) => p.failure(),
            UpstreamError::Status(s) => s.failure(),
            UpstreamError::Connect(_) => failure(FailureKind::Transport, "upstream_unreachable"),
            UpstreamError::Body(_) => failure(FailureKind::Transport, "upstream_disconnected"),
            UpstreamError::IdleTimeout { .. } => {
                failure(FailureKind::IdleTimeout, "upstream_idle_timeout")
            }
            UpstreamError::HeaderTimeout { .. } => {
                failure(FailureKind::IdleTimeout, "upstream_header_timeout")
            }
            UpstreamError::InvalidUrl { .. } => {
                failure(FailureKind::Internal, "invalid_upstream_url")
            }
            UpstreamError::TooLarge { .. } => {
                failure(FailureKind::ServerError, "upstream_answer_too_large")
            }
        }
    }
}

/// The body of a streaming answer, chunk by chunk, as the backend sent it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, UpstreamError>> + Send>>;

/// A committed `200 text/event-stream` answer.
pub struct ResponsesStream {
    /// The rate-limit headers of the answer (`x-codex-*`, protocols.md §1.11), to relay.
    pub headers: HeaderMap,
    /// The SSE body. Ends with [`UpstreamError::Body`] or [`UpstreamError::IdleTimeout`] on
    /// failure; dropping it closes the upstream connection.
    pub body: BodyStream,
    /// The account that answered.
    pub account: std::sync::Arc<str>,
    /// From the call to the answer's headers (refreshes, resends and account moves included).
    pub waited: Duration,
}

/// A `/responses/compact` answer.
#[derive(Debug, Clone)]
pub struct CompactResponse {
    /// The `x-codex-*` headers of the answer.
    pub headers: HeaderMap,
    /// The JSON body (`{"output":[…]}`).
    pub body: Bytes,
    /// The account that answered.
    pub account: std::sync::Arc<str>,
}

/// The backend client. Cheap to clone (reqwest client and auth store are shared).
#[derive(Clone)]
pub struct ResponsesClient {
    http: reqwest::Client,
    accounts: AccountPool,
    config: std::sync::Arc<ResponsesConfig>,
}

const ORIGINATOR_HEADER: HeaderName = HeaderName::from_static("originator");
const VERSION_HEADER: HeaderName = HeaderName::from_static("version");
const SESSION_ID_HEADER: HeaderName = HeaderName::from_static("session_id");
/// `x-openai-subagent` (protocols.md §1.2).
pub const SUBAGENT_HEADER: HeaderName = HeaderName::from_static("x-openai-subagent");

/// `codex_cli_rs/<version> (<OS>; <arch>) codex-pipe/<our version>`, the Codex CLI form
/// (protocols.md §1.2 `User-Agent`).
pub fn codex_user_agent() -> String {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS",
        "windows" => "Windows",
        other => other,
    };
    format!(
        "{CODEX_ORIGINATOR}/{CODEX_CLIENT_VERSION} ({os}; {}) codex-pipe/{}",
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

impl ResponsesClient {
    /// A client over the shared reqwest client and login.
    pub fn new(http: reqwest::Client, auth: AuthStore, config: ResponsesConfig) -> Self {
        Self::with_pool(http, AccountPool::single(auth), config)
    }

    /// A client over the shared reqwest client and an account pool.
    pub fn with_pool(
        http: reqwest::Client,
        accounts: AccountPool,
        config: ResponsesConfig,
    ) -> Self {
        let mut config = config;
        while config.base_url.ends_with('/') {
            config.base_url.pop();
        }
        ResponsesClient {
            http,
            accounts,
            config: std::sync::Arc::new(config),
        }
    }

    /// The first account's login store (e.g. for a health check).
    pub fn auth(&self) -> &AuthStore {
        self.accounts.primary_auth()
    }

    /// The account pool.
    pub fn accounts(&self) -> &AccountPool {
        &self.accounts
    }

    /// The settings.
    pub fn config(&self) -> &ResponsesConfig {
        &self.config
    }

    /// `POST {base}/responses` with `Accept: text/event-stream`.
    ///
    /// # Errors
    /// [`UpstreamError::Auth`], [`UpstreamError::Status`] for an error status (after one
    /// refresh on 401 and up to `max_retries` resends on 5xx), [`UpstreamError::Connect`].
    pub async fn stream(&self, req: &UpstreamRequest) -> Result<ResponsesStream, UpstreamError> {
        self.stream_from(req, Vec::new()).await
    }

    /// After a stream from `account` failed with a usage limit before any byte reached the
    /// client (an in-stream `response.failed` with `rate_limit_exceeded` /
    /// `usage_limit_reached`, protocols.md §1.10): cools `account` down until the failure's
    /// reset and streams `req` from another account. `Ok(None)` when no other account can be
    /// tried (a single login): the caller reports the failure as it is.
    ///
    /// # Errors
    /// As [`Self::stream`].
    pub async fn stream_elsewhere(
        &self,
        req: &UpstreamRequest,
        account: &str,
        failure: &UpstreamFailure,
    ) -> Result<Option<ResponsesStream>, UpstreamError> {
        let Some(index) = self.accounts.index_of(account) else {
            return Ok(None);
        };
        let lease = Lease {
            index,
            name: account.into(),
        };
        let (retry, resets) = (failure.retry_after, failure.resets_at);
        if !self
            .accounts
            .refused(&lease, 429, retry, resets, &failure.message)
            .await
        {
            return Ok(None);
        }
        self.stream_from(req, vec![index]).await.map(Some)
    }

    async fn stream_from(
        &self,
        req: &UpstreamRequest,
        tried: Vec<usize>,
    ) -> Result<ResponsesStream, UpstreamError> {
        let url = format!("{}/responses", self.config.base_url);
        let started = std::time::Instant::now();
        let (resp, lease) = self
            .send(&url, req, "text/event-stream", tried)
            .await
            .inspect_err(|e| crate::metrics::record_upstream_failure(e.kind()))?;
        let headers = codex_headers(resp.headers());
        Ok(ResponsesStream {
            headers,
            body: idle_limited(resp.bytes_stream(), self.config.idle_timeout),
            account: lease.name,
            waited: started.elapsed(),
        })
    }

    /// `POST {base}/responses/compact`, read whole.
    ///
    /// # Errors
    /// As [`Self::stream`], plus [`UpstreamError::Body`], [`UpstreamError::IdleTimeout`] and
    /// [`UpstreamError::TooLarge`] while reading the answer.
    pub async fn compact(&self, req: &UpstreamRequest) -> Result<CompactResponse, UpstreamError> {
        let url = format!("{}/responses/compact", self.config.base_url);
        let (resp, lease) = self
            .send(&url, req, "application/json", Vec::new())
            .await
            .inspect_err(|e| crate::metrics::record_upstream_failure(e.kind()))?;
        let headers = codex_headers(resp.headers());
        let mut body = idle_limited(resp.bytes_stream(), self.config.idle_timeout);
        let mut buf = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if buf.len() + chunk.len() > MAX_COMPACT_BODY_BYTES {
                return Err(UpstreamError::TooLarge {
                    limit: MAX_COMPACT_BODY_BYTES,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(CompactResponse {
            headers,
            body: Bytes::from(buf),
            account: lease.name,
        })
    }

    /// Sends with the refresh, resend and account policy of the module docs, never on the
    /// accounts in `tried`.
    async fn send(
        &self,
        url: &str,
        req: &UpstreamRequest,
        accept: &'static str,
        mut tried: Vec<usize>,
    ) -> Result<(reqwest::Response, Lease), UpstreamError> {
        let url = Url::parse(url).map_err(|e| UpstreamError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let headers = self.request_headers(req, accept);
        let mut last: Option<UpstreamError> = None;
        loop {
            let lease = match self
                .accounts
                .acquire(req.session_id.as_deref(), &tried)
                .await
            {
                Ok(lease) => lease,
                // Every account refused with a 403: the last refusal says more than "none left".
                Err(e) => {
                    return Err(match (e, last) {
                        (PoolError::NoneUsable { .. }, Some(refusal)) => refusal,
                        (e, _) => e.into(),
                    })
                }
            };
            match self.send_on(&url, &headers, req, &lease).await {
                Ok(resp) => return Ok((resp, lease)),
                Err(UpstreamError::Status(s))
                    if self
                        .accounts
                        .refused(&lease, s.status, s.retry_after, s.resets_at, &s.message)
                        .await =>
                {
                    tried.push(lease.index);
                    last = Some(UpstreamError::Status(s));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One account's attempts: one refresh after a 401, resends after 5xx and transport errors.
    async fn send_on(
        &self,
        url: &Url,
        headers: &HeaderMap,
        req: &UpstreamRequest,
        lease: &Lease,
    ) -> Result<reqwest::Response, UpstreamError> {
        let mut creds = self.accounts.credentials(lease).await?;
        let mut refreshed = false;
        let mut resends = 0u32;
        loop {
            let attempt = tokio::time::timeout(
                self.config.header_timeout,
                self.attempt(url, headers, &creds, req.body.clone()),
            )
            .await
            .map_err(|_| UpstreamError::HeaderTimeout {
                after: self.config.header_timeout,
            })?;
            match attempt {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !refreshed => {
                    drop(resp);
                    refreshed = true;
                    tracing::info!(account = %lease.name, "Codex backend answered 401; refreshing the login once");
                    creds = self.accounts.refresh(lease, &creds).await?;
                    continue;
                }
                Ok(resp) if resp.status().is_success() => {
                    self.accounts.observe(lease, resp.headers());
                    return Ok(resp);
                }
                Ok(resp)
                    if resp.status().is_server_error() && resends < self.config.max_retries =>
                {
                    tracing::warn!(status = %resp.status(), resends, "Codex backend error; resending");
                }
                Ok(resp) => {
                    self.accounts.observe(lease, resp.headers());
                    return Err(status_error(resp).await);
                }
                Err(e) if resends < self.config.max_retries => {
                    tracing::warn!(error = %e, resends, "Codex backend unreachable; resending");
                }
                Err(e) => return Err(UpstreamError::Connect(e)),
            }
            let backoff = self
                .config
                .retry_backoff
                .saturating_mul(1u32 << resends.min(16));
            resends += 1;
            tokio::time::sleep(backoff).await;
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        headers: &HeaderMap,
        creds: &Credentials,
        body: Bytes,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let builder = self
            .http
            .post(url.clone())
            .headers(headers.clone())
            .timeout(self.config.total_timeout)
            .body(body);
        creds.apply(builder).send().await
    }

    fn request_headers(&self, req: &UpstreamRequest, accept: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        headers.insert(
            ORIGINATOR_HEADER,
            HeaderValue::from_static(CODEX_ORIGINATOR),
        );
        headers.insert(
            VERSION_HEADER,
            HeaderValue::from_static(CODEX_CLIENT_VERSION),
        );
        if let Ok(ua) = HeaderValue::from_str(&codex_user_agent()) {
            headers.insert(reqwest::header::USER_AGENT, ua);
        }
        for (name, value) in [
            (SESSION_ID_HEADER, req.session_id.as_deref()),
            (SUBAGENT_HEADER, req.subagent.as_deref()),
        ] {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            match HeaderValue::from_str(value) {
                Ok(v) => {
                    headers.insert(name, v);
                }
                Err(_) => {
                    tracing::warn!(header = %name, "value is not a valid header value; not sent")
                }
            }
        }
        headers
    }
}

/// The `x-codex-*` headers of an answer.
fn codex_headers(headers: &HeaderMap) -> HeaderMap {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-codex-"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The body of `resp` as chunks, failing when none arrives for `idle`.
fn idle_limited<S>(body: S, idle: Duration) -> BodyStream
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
{
    let body = Box::pin(body);
    Box::pin(futures::stream::unfold(
        Some(body),
        move |state| async move {
            let mut body = state?;
            match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(Some(Err(e))) => {
                    crate::metrics::record_upstream_failure("body");
                    Some((Err(UpstreamError::Body(e)), None))
                }
                Ok(None) => None,
                Err(_) => {
                    crate::metrics::record_upstream_failure("idle_timeout");
                    Some((Err(UpstreamError::IdleTimeout { after: idle }), None))
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_codex_style() {
        let ua = codex_user_agent();
        assert!(ua.starts_with("codex_cli_rs/0.169.0 ("), "{ua}");
        assert!(ua.contains("codex-pipe/"), "{ua}");
    }
}
