//! Google's error shape for the Gemini surface: the one place where an [`ApiError`] meets the
//! Gemini API (protocols.md §4c "Errors", §5.7; clients.md §3.3 "Errors").
//!
//! Body (what google-genai parses into `ClientError` / `ServerError` `.code`, `.status`,
//! `.message`):
//!
//! ```json
//! {"error": {"code": 429, "message": "…", "status": "RESOURCE_EXHAUSTED"}}
//! ```
//!
//! | HTTP status of the kind | `status` |
//! |---|---|
//! | 400, 405, 413, 414, 415, 431 | `INVALID_ARGUMENT` |
//! | 401 | `UNAUTHENTICATED` |
//! | 403 | `PERMISSION_DENIED` |
//! | 404 | `NOT_FOUND` |
//! | 429 | `RESOURCE_EXHAUSTED` |
//! | 500, 502 | `INTERNAL` |
//! | 503 | `UNAVAILABLE` |
//! | 504 | `DEADLINE_EXCEEDED` |

use http::StatusCode;

use crate::canonical::{ApiError, ErrorResponse};

use super::wire::{ErrorEnvelope, ErrorOut};

/// The `google.rpc.Code` name for an HTTP status (module table).
pub fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

pub(crate) fn envelope(err: &ApiError) -> ErrorEnvelope<'_> {
    let status = err.http_status();
    ErrorEnvelope {
        error: ErrorOut {
            code: status.as_u16(),
            message: &err.message,
            status: status_name(status),
        },
    }
}

/// The body `{"error":{"code","message","status"}}` of `err`.
pub fn error_body(err: &ApiError) -> Vec<u8> {
    serde_json::to_vec(&envelope(err)).unwrap_or_else(|_| {
        br#"{"error":{"code":500,"message":"internal error","status":"INTERNAL"}}"#.to_vec()
    })
}

/// `err` as a Gemini error answer: the kind's status, `Retry-After`, the JSON body.
pub fn error_response(err: &ApiError) -> ErrorResponse {
    ErrorResponse {
        status: err.http_status(),
        retry_after_secs: err.retry_after_secs(),
        content_type: "application/json",
        body: error_body(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::FailureKind;

    #[test]
    fn kinds_map_to_google_statuses() {
        let cases = [
            (FailureKind::InvalidRequest, 400, "INVALID_ARGUMENT"),
            (FailureKind::ContextLengthExceeded, 400, "INVALID_ARGUMENT"),
            (FailureKind::Unauthenticated, 401, "UNAUTHENTICATED"),
            (FailureKind::Forbidden, 403, "PERMISSION_DENIED"),
            (FailureKind::NotFound, 404, "NOT_FOUND"),
            (FailureKind::MethodNotAllowed, 405, "INVALID_ARGUMENT"),
            (FailureKind::RateLimited, 429, "RESOURCE_EXHAUSTED"),
            (FailureKind::Internal, 500, "INTERNAL"),
            (FailureKind::ServerError, 502, "INTERNAL"),
            (FailureKind::Overloaded, 503, "UNAVAILABLE"),
            (FailureKind::IdleTimeout, 504, "DEADLINE_EXCEEDED"),
        ];
        for (kind, code, status) in cases {
            let r = error_response(&ApiError::new(kind, "m"));
            assert_eq!(r.status.as_u16(), code, "{kind:?}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            assert_eq!(
                v,
                serde_json::json!({"error": {"code": code, "message": "m", "status": status}}),
                "{kind:?}"
            );
        }
    }
}
