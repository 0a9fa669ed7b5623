//! Errors of the LLM surfaces and their one mapping to OpenAI's error shape (protocols.md §4a
//! "Errors", §5.7): an HTTP status, `{"error":{"message","type","param","code"}}` and a
//! `Retry-After` header when the upstream gave a delay.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codex_pipe_engine::{DriveError, ReadError};
use codex_pipe_protocols::canonical::FailureKind;
use codex_pipe_protocols::openai_chat::OpenAiError;
use codex_pipe_protocols::{ProtocolError, UpstreamFailure};

use crate::upstream::responses::UpstreamError;

/// Why an LLM request failed before its answer started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The client's request is invalid, or the answer could not be built
    /// ([`ProtocolError::Upstream`] carries an upstream failure of a non-streaming answer).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The backend call failed (login, status, connection, idle timeout).
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The backend's stream reported a failure before anything was sent to the client.
    #[error(transparent)]
    Failure(UpstreamFailure),
}

impl LlmError {
    /// The OpenAI error to answer with.
    pub fn openai(&self) -> OpenAiError {
        match self {
            LlmError::Protocol(e) => OpenAiError::from_protocol(e),
            LlmError::Upstream(e) => openai_of_upstream(e),
            LlmError::Failure(f) => OpenAiError::from_failure(f),
        }
    }
}

impl IntoResponse for LlmError {
    fn into_response(self) -> Response {
        let err = self.openai();
        if err.status >= 500 {
            tracing::warn!(status = err.status, error = %self, "LLM request failed");
        } else {
            tracing::info!(status = err.status, error = %self, "LLM request rejected");
        }
        openai_response(&err)
    }
}

/// `err` as an HTTP response: status, JSON body, `Retry-After`.
pub fn openai_response(err: &OpenAiError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        err.to_json(),
    )
        .into_response();
    if let Some(secs) = err.retry_after_secs {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Maps a backend call failure (protocols.md §5.7, OpenAI column). Status errors keep the
/// upstream's 4xx status (413 becomes 400 `context_length_exceeded`), 503 stays 503, other 5xx
/// become 502; a login problem is 401, or 503 when the token endpoint is only unreachable.
pub fn openai_of_upstream(err: &UpstreamError) -> OpenAiError {
    let plain = |status: u16, error_type: &'static str, code: &str| OpenAiError {
        status,
        error_type,
        code: Some(code.to_owned()),
        message: err.to_string(),
        param: None,
        retry_after_secs: None,
    };
    match err {
        UpstreamError::Auth(e) if e.is_transient() => {
            plain(503, "server_error", "auth_refresh_unavailable")
        }
        UpstreamError::Auth(_) => plain(401, "authentication_error", "auth_unavailable"),
        UpstreamError::Status(s) => {
            let failure = s.failure();
            let (status, error_type) = match s.status {
                413 => (400, "invalid_request_error"),
                401 => (401, "authentication_error"),
                403 => (403, "permission_error"),
                429 => (429, "rate_limit_error"),
                400..=499 => (s.status, "invalid_request_error"),
                503 => (503, "server_error"),
                _ => (502, "server_error"),
            };
            let code = s
                .code
                .clone()
                .or_else(|| {
                    (failure.kind == FailureKind::ContextLengthExceeded || s.status == 413)
                        .then(|| "context_length_exceeded".to_owned())
                })
                .or_else(|| s.error_type.clone());
            OpenAiError {
                status,
                error_type,
                code,
                message: s.message.clone(),
                param: s.param.clone(),
                retry_after_secs: failure.retry_after.map(ceil_secs),
            }
        }
        UpstreamError::Accounts(e) => OpenAiError::from_failure(&e.failure()),
        UpstreamError::Connect(_) => plain(502, "server_error", "upstream_unreachable"),
        UpstreamError::Body(_) => plain(502, "server_error", "upstream_disconnected"),
        UpstreamError::IdleTimeout { .. } => plain(504, "server_error", "upstream_idle_timeout"),
        UpstreamError::InvalidUrl { .. } => plain(500, "server_error", "invalid_upstream_url"),
        _ => plain(502, "server_error", "upstream_error"),
    }
}

/// A failure with a fixed code, for errors the proxy itself detects.
fn local_failure(kind: FailureKind, code: &str, message: String) -> UpstreamFailure {
    UpstreamFailure {
        kind,
        code: Some(code.into()),
        error_type: None,
        message: message.into(),
        retry_after: None,
        resets_at: None,
    }
}

/// A backend call failure as a stream failure (for an in-band error frame).
pub fn failure_of_upstream(err: &UpstreamError) -> UpstreamFailure {
    match err {
        UpstreamError::Status(s) => s.failure(),
        UpstreamError::Accounts(e) => e.failure(),
        UpstreamError::IdleTimeout { .. } => local_failure(
            FailureKind::PrematureClose,
            "upstream_idle_timeout",
            err.to_string(),
        ),
        UpstreamError::Auth(_) => local_failure(
            FailureKind::Unauthorized,
            "auth_unavailable",
            err.to_string(),
        ),
        _ => local_failure(
            FailureKind::ServerError,
            "upstream_disconnected",
            err.to_string(),
        ),
    }
}

/// Why reading the upstream body's events failed, as a stream failure.
pub fn failure_of_read(err: &ReadError<UpstreamError>) -> UpstreamFailure {
    match err {
        ReadError::Transport(e) => failure_of_upstream(e),
        other => local_failure(
            FailureKind::ServerError,
            "malformed_upstream_stream",
            format!("the Codex backend stream could not be read: {other}"),
        ),
    }
}

/// Why a stream driven over the upstream body stopped, as a stream failure.
pub fn failure_of_drive(err: &DriveError<ProtocolError, UpstreamError>) -> UpstreamFailure {
    match err {
        DriveError::Transcoder(ProtocolError::Upstream(f)) => f.clone(),
        DriveError::Transcoder(e) => local_failure(
            FailureKind::ServerError,
            "malformed_upstream_event",
            e.to_string(),
        ),
        DriveError::Framing(e) => local_failure(
            FailureKind::ServerError,
            "malformed_upstream_stream",
            format!("the Codex backend stream could not be read: {e}"),
        ),
        DriveError::Transport(e) => failure_of_upstream(e),
        DriveError::IdleTimeout { after } => local_failure(
            FailureKind::PrematureClose,
            "upstream_idle_timeout",
            format!(
                "the Codex backend sent nothing for {} s",
                after.as_secs_f64()
            ),
        ),
        _ => local_failure(
            FailureKind::Other,
            "upstream_error",
            format!("upstream stream failed ({})", err.kind()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::responses::parse_status_error;

    fn status(code: u16, body: &str) -> OpenAiError {
        let e = UpstreamError::Status(Box::new(parse_status_error(code, body.as_bytes(), None)));
        openai_of_upstream(&e)
    }

    #[test]
    fn upstream_statuses_map_to_openai() {
        let e = status(400, r#"{"detail":"Unsupported parameter: temperature"}"#);
        assert_eq!((e.status, e.error_type), (400, "invalid_request_error"));
        assert_eq!(e.message, "Unsupported parameter: temperature");
        let e = status(
            429,
            r#"{"error":{"type":"usage_limit_reached","message":"limit","resets_in_seconds":6.2}}"#,
        );
        assert_eq!((e.status, e.error_type), (429, "rate_limit_error"));
        assert_eq!(e.code.as_deref(), Some("usage_limit_reached"));
        assert_eq!(e.retry_after_secs, Some(7));
        assert_eq!(
            status(413, "too big").code.as_deref(),
            Some("context_length_exceeded")
        );
        assert_eq!(status(413, "too big").status, 400);
        assert_eq!(status(500, "{}").status, 502);
        assert_eq!(status(503, "{}").status, 503);
        assert_eq!(status(403, "<html>").error_type, "permission_error");
    }

    #[test]
    fn idle_timeout_is_504_both_ways() {
        let e = UpstreamError::IdleTimeout {
            after: Duration::from_millis(300),
        };
        assert_eq!(openai_of_upstream(&e).status, 504);
        let f = failure_of_upstream(&e);
        assert_eq!(OpenAiError::from_failure(&f).status, 504);
        assert_eq!(f.code.as_deref(), Some("upstream_idle_timeout"));
    }
}
