//! Errors of the translation layer, in no protocol's spelling.
//!
//! ```text
//! upstream HTTP status + body ─┐
//! transport error, idle timeout ├─► UpstreamFailure ─┐
//! response.failed / error event ┘                    ├─► ApiError ─► <protocol>::error ─► status + body
//! request parse errors ─────────► ProtocolError ─────┘      ▲
//! API key, route, limits (the server) ──────────────────────┘
//! ```
//!
//! [`FailureKind`] is the one classification; each protocol's `error.rs` maps it to its own
//! status and error type (OpenAI `type`, Anthropic `error.type`, Google `status`).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// An error of the protocol layer. Each client protocol renders it (through [`ApiError`]) in
/// one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The client's request body is not valid JSON of the expected shape.
    #[error("invalid request body: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The client's request is well-formed but asks for something unsupported (e.g. `n` > 1).
    #[error("{message}")]
    InvalidRequest {
        /// Human-readable reason.
        message: Cow<'static, str>,
        /// The offending request field, e.g. `n`, `messages[2].role`.
        param: Option<Cow<'static, str>>,
    },
    /// One upstream event's data is not JSON of the expected shape.
    #[error("malformed upstream event: {source}")]
    MalformedEvent {
        /// The JSON error.
        source: serde_json::Error,
        /// True when the stream can go on without this event (it was not a terminal event);
        /// false when the event looked like `response.completed`/`failed`/`incomplete`/`error`,
        /// so the answer cannot be completed.
        can_continue: bool,
    },
    /// The upstream reported a failure (`response.failed`, `error`, or a premature close).
    #[error(transparent)]
    Upstream(UpstreamFailure),
    /// A value could not be serialized (never expected for the types of this crate).
    #[error("serialization failed: {0}")]
    Serialize(#[source] serde_json::Error),
}

impl ProtocolError {
    /// An [`ProtocolError::InvalidRequest`] about `param`.
    pub fn invalid(message: impl Into<Cow<'static, str>>, param: Option<&'static str>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: param.map(Cow::Borrowed),
        }
    }

    /// The classification of this error.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } => FailureKind::InvalidRequest,
            Self::MalformedEvent { .. } => FailureKind::MalformedStream,
            Self::Upstream(failure) => failure.kind,
            Self::Serialize(_) => FailureKind::Internal,
        }
    }

    /// The HTTP status a server answers with when nothing was sent yet
    /// ([`FailureKind::http_status`]).
    pub fn http_status(&self) -> StatusCode {
        self.kind().http_status()
    }

    /// How long the client should wait before retrying, when the upstream said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Upstream(failure) => failure.retry_after,
            _ => None,
        }
    }

    /// Whether the stream this error came from may continue with its next event.
    pub fn can_continue(&self) -> bool {
        matches!(
            self,
            Self::MalformedEvent {
                can_continue: true,
                ..
            }
        )
    }
}

/// What went wrong, whoever is at fault (protocols.md §1.10, §5.7). Each protocol maps a kind
/// to its status and error type; [`FailureKind::http_status`] is the status most of them use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The request is invalid (client side), or the upstream rejected it
    /// (`invalid_request_error`, `cyber_policy`, …). 400.
    InvalidRequest,
    /// `context_length_exceeded`: the input is too long for the model. 400.
    ContextLengthExceeded,
    /// `invalid_encrypted_content`: a replayed reasoning item could not be verified. 400.
    InvalidEncryptedContent,
    /// The client did not present this proxy's API key. 401.
    Unauthenticated,
    /// The proxy's own ChatGPT login is missing, expired or revoked (or the upstream still
    /// answered 401 after a refresh). 401.
    LoginRequired,
    /// `usage_not_included`: the plan lacks Codex. 403.
    UsageNotIncluded,
    /// The upstream answered 403 (a banned account, a Cloudflare challenge). 403.
    Forbidden,
    /// No such route or model. 404.
    NotFound,
    /// The route exists, not with this method. 405.
    MethodNotAllowed,
    /// The request body is larger than the proxy accepts. 413.
    PayloadTooLarge,
    /// The request URI is longer than the proxy accepts. 414.
    UriTooLong,
    /// The request body is not of the media type the route reads. 415.
    UnsupportedMediaType,
    /// The request headers are larger than the proxy accepts. 431.
    HeadersTooLarge,
    /// `rate_limit_exceeded` / `usage_limit_reached`: retry later. 429.
    RateLimited,
    /// `insufficient_quota`. 429.
    QuotaExceeded,
    /// The proxy host is at fault (a missing decoder, a local I/O error), never the request. 500.
    Internal,
    /// `server_error`: a transient upstream failure. 502.
    ServerError,
    /// The upstream could not be reached, or the connection broke. 502.
    Transport,
    /// The upstream stream could not be read (bad framing, a malformed terminal event). 502.
    MalformedStream,
    /// `server_is_overloaded`, `service_unavailable_error`, "at capacity". 503.
    Overloaded,
    /// The login could not be refreshed because the token endpoint is unreachable. 503.
    LoginUnavailable,
    /// The upstream sent nothing for the idle timeout. 504.
    IdleTimeout,
    /// The stream ended without `response.completed` / `failed` / `incomplete` / `error`. 504.
    PrematureClose,
    /// Anything else from the upstream. 502.
    Other,
}

impl FailureKind {
    /// The HTTP status of this kind (protocols.md §5.7): the one every protocol answers with
    /// unless its own table says otherwise (Anthropic's 529 for [`Self::Overloaded`]).
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::InvalidRequest | Self::ContextLengthExceeded | Self::InvalidEncryptedContent => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated | Self::LoginRequired => StatusCode::UNAUTHORIZED,
            Self::UsageNotIncluded | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RateLimited | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServerError | Self::Transport | Self::MalformedStream | Self::Other => {
                StatusCode::BAD_GATEWAY
            }
            Self::Overloaded | Self::LoginUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::IdleTimeout | Self::PrematureClose => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The machine-readable code reported when the failure carries none of its own
    /// (snake_case, OpenAI's spelling where OpenAI has one).
    pub fn default_code(self) -> Option<&'static str> {
        Some(match self {
            Self::ContextLengthExceeded => "context_length_exceeded",
            Self::InvalidEncryptedContent => "invalid_encrypted_content",
            Self::Unauthenticated => "invalid_api_key",
            Self::LoginRequired => "upstream_login_required",
            Self::LoginUnavailable => "upstream_auth_unavailable",
            Self::Forbidden => "upstream_forbidden",
            Self::NotFound => "unknown_url",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "request_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::HeadersTooLarge => "headers_too_large",
            Self::RateLimited => "rate_limit_exceeded",
            Self::QuotaExceeded => "insufficient_quota",
            Self::UsageNotIncluded => "usage_not_included",
            Self::Internal => "internal_error",
            Self::Transport => "upstream_unreachable",
            Self::MalformedStream => "malformed_upstream_stream",
            Self::IdleTimeout => "upstream_idle_timeout",
            Self::PrematureClose => "stream_closed",
            Self::InvalidRequest | Self::ServerError | Self::Overloaded | Self::Other => {
                return None
            }
        })
    }

    /// True when the client's request is at fault (a 4xx other than 429).
    pub fn is_client_error(self) -> bool {
        let status = self.http_status();
        status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS
    }

    /// Classifies from the upstream `code`, `type` and `message` (protocols.md §1.10 table).
    pub fn classify(code: Option<&str>, error_type: Option<&str>, message: &str) -> Self {
        let matches_any = |names: &[&str]| {
            names
                .iter()
                .any(|n| code == Some(*n) || error_type == Some(*n))
        };
        if matches_any(&["context_length_exceeded", "context_too_large"]) {
            return Self::ContextLengthExceeded;
        }
        if matches_any(&[
            "rate_limit_exceeded",
            "rate_limit_error",
            "usage_limit_reached",
        ]) {
            return Self::RateLimited;
        }
        if matches_any(&["insufficient_quota"]) {
            return Self::QuotaExceeded;
        }
        if matches_any(&["usage_not_included"]) {
            return Self::UsageNotIncluded;
        }
        if matches_any(&["server_is_overloaded", "service_unavailable_error"]) {
            return Self::Overloaded;
        }
        if matches_any(&["invalid_encrypted_content"]) {
            return Self::InvalidEncryptedContent;
        }
        if matches_any(&[
            "invalid_api_key",
            "authentication_error",
            "refresh_token_reused",
        ]) {
            return Self::LoginRequired;
        }
        let lower = message.to_ascii_lowercase();
        if lower.contains("context window") || lower.contains("too many tokens") {
            return Self::ContextLengthExceeded;
        }
        if lower.contains("at capacity") {
            return Self::Overloaded;
        }
        if matches_any(&["server_error"]) {
            return Self::ServerError;
        }
        if matches_any(&[
            "invalid_request_error",
            "cyber_policy",
            "previous_response_not_found",
        ]) {
            return Self::InvalidRequest;
        }
        Self::Other
    }

    /// Classifies an upstream error status: by its body's `code` / `type` / message first,
    /// then by the status (401 login, 403 forbidden, 404, 413 context length, 429, 400 / 422
    /// rejected, 503 overloaded, other 5xx server error).
    pub fn classify_status(
        status: u16,
        code: Option<&str>,
        error_type: Option<&str>,
        message: &str,
    ) -> Self {
        match (status, Self::classify(code, error_type, message)) {
            (401, _) => Self::LoginRequired,
            (413, _) => Self::ContextLengthExceeded,
            (_, kind) if kind != Self::Other && kind != Self::InvalidRequest => kind,
            (403, _) => Self::Forbidden,
            (404, _) => Self::NotFound,
            (429, _) => Self::RateLimited,
            (400..=499, _) => Self::InvalidRequest,
            (503, _) => Self::Overloaded,
            (500..=599, _) => Self::ServerError,
            _ => Self::Other,
        }
    }
}

/// A failure reported by the upstream or met on the way to it, classified, with its retry
/// hints: the one type every upstream problem becomes (an error status and its body, a
/// transport error, an idle timeout, an in-band `response.failed` / `error` event, a premature
/// close, a login that cannot be used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFailure {
    /// Classification.
    pub kind: FailureKind,
    /// Upstream error `code`, e.g. `rate_limit_exceeded`, or the proxy's own code for failures
    /// it detected (`upstream_idle_timeout`).
    pub code: Option<Box<str>>,
    /// Upstream error `type`, e.g. `invalid_request_error`.
    pub error_type: Option<Box<str>>,
    /// Upstream `param`, when it named the offending field.
    pub param: Option<Box<str>>,
    /// Upstream message, verbatim (or the proxy's description).
    pub message: Box<str>,
    /// Delay before a retry may succeed: from `resets_in_seconds` or `Retry-After`, or parsed
    /// from a message such as `Please try again in 1.5s.` (units `ms`, `s`, `seconds`, `m`,
    /// `minutes`).
    pub retry_after: Option<Duration>,
    /// Unix time (seconds) at which a usage limit resets (`resets_at`).
    pub resets_at: Option<u64>,
}

impl UpstreamFailure {
    /// A failure of `kind` with the proxy's own `code` and `message`.
    pub fn new(kind: FailureKind, code: &str, message: impl Into<Box<str>>) -> Self {
        Self {
            kind,
            code: Some(code.into()),
            error_type: None,
            param: None,
            message: message.into(),
            retry_after: None,
            resets_at: None,
        }
    }

    /// Builds and classifies a failure from the fields of an in-band upstream error.
    pub fn from_upstream(
        code: Option<&str>,
        error_type: Option<&str>,
        message: &str,
        resets_in_seconds: Option<f64>,
        resets_at: Option<u64>,
    ) -> Self {
        let retry_after = resets_in_seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .or_else(|| parse_retry_after(message));
        Self {
            kind: FailureKind::classify(code, error_type, message),
            code: code.map(Box::from),
            error_type: error_type.map(Box::from),
            param: None,
            message: Box::from(message),
            retry_after,
            resets_at,
        }
    }

    /// The failure for a stream that ended without a terminal event (protocols.md §1.7).
    pub fn premature_close() -> Self {
        Self {
            kind: FailureKind::PrematureClose,
            code: None,
            error_type: None,
            param: None,
            message: Box::from("stream closed before response.completed"),
            retry_after: None,
            resets_at: None,
        }
    }
}

impl fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "upstream error {code}: {}", self.message),
            None => write!(f, "upstream error: {}", self.message),
        }
    }
}

impl std::error::Error for UpstreamFailure {}

/// Parses the delay in "…try again in 11.054s", "…in 28ms", "…in 35 seconds", "…in 2 minutes"
/// (the forms Codex parses, protocols.md §1.10). Case-insensitive; `None` when absent.
pub fn parse_retry_after(message: &str) -> Option<Duration> {
    const NEEDLE: &str = "try again in ";
    let lower = message.to_ascii_lowercase();
    let start = lower.find(NEEDLE)? + NEEDLE.len();
    let rest = &lower[start..];
    let num_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let value: f64 = rest[..num_len].parse().ok()?;
    let unit = rest[num_len..].trim_start();
    let unit_word: &str = unit
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    let seconds = match unit_word {
        "ms" | "millisecond" | "milliseconds" => value / 1000.0,
        "s" | "sec" | "secs" | "second" | "seconds" => value,
        "m" | "min" | "mins" | "minute" | "minutes" => value * 60.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let ms = |m: &str| parse_retry_after(m).map(|d| d.as_millis());
        assert_eq!(
            ms("Rate limit reached. Please try again in 1.5s."),
            Some(1500)
        );
        assert_eq!(ms("try again in 11.054s"), Some(11054));
        assert_eq!(ms("Please try again in 28ms."), Some(28));
        assert_eq!(ms("Try again in 35 seconds"), Some(35_000));
        assert_eq!(ms("try again in 2 minutes"), Some(120_000));
        assert_eq!(ms("try again later"), None);
        assert_eq!(ms("try again in 5 fortnights"), None);
        assert_eq!(ms("no hint"), None);
    }

    #[test]
    fn classification_and_status() {
        let k = |c: Option<&str>, t: Option<&str>, m: &str| FailureKind::classify(c, t, m);
        assert_eq!(
            k(Some("context_length_exceeded"), None, "x").http_status(),
            400
        );
        assert_eq!(
            k(
                None,
                None,
                "Your input exceeds the context window of this model"
            ),
            FailureKind::ContextLengthExceeded
        );
        assert_eq!(
            k(Some("rate_limit_exceeded"), None, "x"),
            FailureKind::RateLimited
        );
        assert_eq!(k(None, Some("usage_limit_reached"), "x").http_status(), 429);
        assert_eq!(
            k(Some("server_is_overloaded"), None, "x").http_status(),
            503
        );
        assert_eq!(k(Some("server_error"), None, "x").http_status(), 502);
        assert_eq!(
            k(Some("cyber_policy"), Some("invalid_request_error"), "x"),
            FailureKind::InvalidRequest
        );
        assert_eq!(k(Some("weird"), None, "x"), FailureKind::Other);
    }

    #[test]
    fn statuses_classify_when_the_body_does_not() {
        let s = |status, code| FailureKind::classify_status(status, code, None, "x");
        assert_eq!(s(401, None), FailureKind::LoginRequired);
        assert_eq!(s(403, None), FailureKind::Forbidden);
        assert_eq!(s(404, None), FailureKind::NotFound);
        assert_eq!(s(413, None), FailureKind::ContextLengthExceeded);
        assert_eq!(s(422, None), FailureKind::InvalidRequest);
        assert_eq!(s(429, None), FailureKind::RateLimited);
        assert_eq!(s(500, None), FailureKind::ServerError);
        assert_eq!(s(503, None), FailureKind::Overloaded);
        assert_eq!(s(302, None), FailureKind::Other);
        // The body's code wins over the status.
        assert_eq!(
            s(400, Some("context_length_exceeded")),
            FailureKind::ContextLengthExceeded
        );
        assert_eq!(
            s(429, Some("insufficient_quota")),
            FailureKind::QuotaExceeded
        );
    }

    #[test]
    fn resets_in_seconds_wins_over_message() {
        let f = UpstreamFailure::from_upstream(
            None,
            Some("usage_limit_reached"),
            "try again in 1s",
            Some(7.0),
            Some(1_735_689_600),
        );
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(f.resets_at, Some(1_735_689_600));
        let err = ProtocolError::Upstream(f);
        assert_eq!(err.http_status(), 429);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(!err.can_continue());
    }
}
