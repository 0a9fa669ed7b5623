//! Errors of the translation layer: [`ProtocolError`] and the upstream failure it may carry.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// An error of the protocol layer. Each client protocol maps it to its own error shape in one
/// place (for OpenAI: [`crate::openai_chat::OpenAiError::from_protocol`]).
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

    /// The HTTP status a server should answer with when nothing was sent yet.
    ///
    /// Client errors are 400; upstream failures follow protocols.md §5.7
    /// ([`FailureKind::http_status`]); a malformed upstream event is 502.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } => 400,
            Self::MalformedEvent { .. } => 502,
            Self::Upstream(failure) => failure.kind.http_status(),
            Self::Serialize(_) => 500,
        }
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

/// Classification of an upstream failure (protocols.md §1.10, §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// `context_length_exceeded`: the input is too long for the model.
    ContextLengthExceeded,
    /// `rate_limit_exceeded` / `usage_limit_reached`: retry later.
    RateLimited,
    /// `insufficient_quota`.
    QuotaExceeded,
    /// `usage_not_included`: the plan lacks Codex.
    UsageNotIncluded,
    /// `server_is_overloaded`, `service_unavailable_error`, "at capacity".
    Overloaded,
    /// `server_error`: transient upstream failure.
    ServerError,
    /// The upstream rejected the request (`invalid_request_error`, `cyber_policy`…).
    InvalidRequest,
    /// `invalid_encrypted_content`: a replayed reasoning item could not be verified.
    InvalidEncryptedContent,
    /// Authentication failure.
    Unauthorized,
    /// The stream ended without `response.completed` / `failed` / `incomplete` / `error`.
    PrematureClose,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// HTTP status per protocols.md §5.7: 400, 401, 403, 429, 502, 503 or 504.
    pub fn http_status(self) -> u16 {
        match self {
            Self::ContextLengthExceeded | Self::InvalidRequest | Self::InvalidEncryptedContent => {
                400
            }
            Self::Unauthorized => 401,
            Self::UsageNotIncluded => 403,
            Self::RateLimited | Self::QuotaExceeded => 429,
            Self::Overloaded => 503,
            Self::PrematureClose => 504,
            Self::ServerError | Self::Other => 502,
        }
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
            return Self::Unauthorized;
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
}

/// A failure reported by the upstream, classified, with its retry hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFailure {
    /// Classification.
    pub kind: FailureKind,
    /// Upstream error `code`, e.g. `rate_limit_exceeded`.
    pub code: Option<Box<str>>,
    /// Upstream error `type`, e.g. `invalid_request_error`.
    pub error_type: Option<Box<str>>,
    /// Upstream message, verbatim.
    pub message: Box<str>,
    /// Delay before a retry may succeed: from `resets_in_seconds`, or parsed from a message
    /// such as `Please try again in 1.5s.` (units `ms`, `s`, `seconds`, `m`, `minutes`).
    pub retry_after: Option<Duration>,
    /// Unix time (seconds) at which a usage limit resets (`resets_at`).
    pub resets_at: Option<u64>,
}

impl UpstreamFailure {
    /// Builds and classifies a failure from the upstream error fields.
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
