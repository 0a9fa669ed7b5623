//! The Anthropic error shape: where an [`ApiError`] meets the Messages API (protocols.md §4b
//! "Errors", §5.7).
//!
//! Body, before the answer started and (as `event: error`) in a stream:
//!
//! ```json
//! {"type": "error", "error": {"type": "rate_limit_error", "message": "…"}}
//! ```
//!
//! | kind | status | `error.type` |
//! |---|---|---|
//! | invalid request, context length, bad replayed reasoning, method, URI, media type, headers | 400 / 405 / 414 / 415 / 431 | `invalid_request_error` |
//! | the client's API key, the proxy's ChatGPT login | 401 | `authentication_error` |
//! | usage not included, upstream 403 | 403 | `permission_error` |
//! | unknown route or model | 404 | `not_found_error` |
//! | body too large | 413 | `request_too_large` |
//! | rate limited, quota (with `retry-after`) | 429 | `rate_limit_error` |
//! | upstream overloaded | **529** | `overloaded_error` |
//! | idle timeout, premature end of the upstream stream | 504 | `timeout_error` |
//! | login endpoint unreachable | 503 | `api_error` |
//! | everything else (the proxy host, the upstream) | 500 | `api_error` |

use http::StatusCode;
use serde::Serialize;

use crate::canonical::{ApiError, ErrorResponse, FailureKind};

/// Anthropic's status for an overloaded API (not a standard HTTP status).
pub const OVERLOADED_STATUS: u16 = 529;

/// The Anthropic `error.type` and status of a failure kind (module table).
pub fn error_type(kind: FailureKind) -> (&'static str, StatusCode) {
    use FailureKind as K;
    let server = StatusCode::INTERNAL_SERVER_ERROR;
    match kind {
        K::Unauthenticated | K::LoginRequired => ("authentication_error", kind.http_status()),
        K::UsageNotIncluded | K::Forbidden => ("permission_error", kind.http_status()),
        K::NotFound => ("not_found_error", kind.http_status()),
        K::PayloadTooLarge => ("request_too_large", kind.http_status()),
        K::RateLimited | K::QuotaExceeded => ("rate_limit_error", kind.http_status()),
        K::Overloaded => (
            "overloaded_error",
            StatusCode::from_u16(OVERLOADED_STATUS).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        ),
        K::IdleTimeout | K::PrematureClose => ("timeout_error", StatusCode::GATEWAY_TIMEOUT),
        K::LoginUnavailable => ("api_error", StatusCode::SERVICE_UNAVAILABLE),
        kind if kind.is_client_error() => ("invalid_request_error", kind.http_status()),
        _ => ("api_error", server),
    }
}

/// `{"type":"error","error":{"type","message"}}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorEnvelope<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: ErrorOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: &'a str,
}

impl<'a> ErrorEnvelope<'a> {
    pub(crate) fn of(err: &'a ApiError) -> Self {
        Self {
            kind: "error",
            error: ErrorOut {
                kind: error_type(err.kind).0,
                message: &err.message,
            },
        }
    }
}

/// The body `{"type":"error","error":{"type","message"}}` of `err`.
pub fn error_body(err: &ApiError) -> Vec<u8> {
    serde_json::to_vec(&ErrorEnvelope::of(err)).unwrap_or_else(|_| {
        br#"{"type":"error","error":{"type":"api_error","message":"internal error"}}"#.to_vec()
    })
}

/// `err` as an Anthropic error answer: status (529 for overloaded), `retry-after`, body.
pub fn error_response(err: &ApiError) -> ErrorResponse {
    ErrorResponse {
        status: error_type(err.kind).1,
        retry_after_secs: err.retry_after_secs(),
        content_type: "application/json",
        body: error_body(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::UpstreamFailure;

    #[test]
    fn kinds_map_to_anthropic_types_and_statuses() {
        let cases = [
            (FailureKind::InvalidRequest, 400, "invalid_request_error"),
            (
                FailureKind::ContextLengthExceeded,
                400,
                "invalid_request_error",
            ),
            (FailureKind::Unauthenticated, 401, "authentication_error"),
            (FailureKind::LoginRequired, 401, "authentication_error"),
            (FailureKind::Forbidden, 403, "permission_error"),
            (FailureKind::NotFound, 404, "not_found_error"),
            (FailureKind::MethodNotAllowed, 405, "invalid_request_error"),
            (FailureKind::PayloadTooLarge, 413, "request_too_large"),
            (FailureKind::RateLimited, 429, "rate_limit_error"),
            (FailureKind::Internal, 500, "api_error"),
            (FailureKind::Transport, 500, "api_error"),
            (FailureKind::Overloaded, 529, "overloaded_error"),
            (FailureKind::IdleTimeout, 504, "timeout_error"),
        ];
        for (kind, status, ty) in cases {
            let r = error_response(&ApiError::new(kind, "m"));
            assert_eq!(r.status.as_u16(), status, "{kind:?}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            assert_eq!(
                v,
                serde_json::json!({"type": "error", "error": {"type": ty, "message": "m"}}),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let f = UpstreamFailure::from_upstream(
            Some("rate_limit_exceeded"),
            None,
            "Please try again in 1.5s.",
            None,
            None,
        );
        let r = error_response(&ApiError::from(&f));
        assert_eq!((r.status.as_u16(), r.retry_after_secs), (429, Some(2)));
    }
}
