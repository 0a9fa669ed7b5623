//! The OpenAI error shape, shared by every OpenAI surface (Chat Completions, Responses, audio
//! transcriptions, models): the one place where an [`ApiError`] meets the OpenAI API
//! (protocols.md §4a "Errors", §5.7).
//!
//! Body (what the official SDKs parse into `APIStatusError.{message,type,param,code}`):
//!
//! ```json
//! {"error": {"message": "…", "type": "invalid_request_error", "param": "file", "code": null}}
//! ```
//!
//! | kind | status | `type` |
//! |---|---|---|
//! | invalid request, context length, unknown route, method, too large, media type | 400 / 404 / 405 / 413 / 414 / 415 / 431 | `invalid_request_error` |
//! | the client's API key | 401 | `invalid_request_error` (code `invalid_api_key`, as OpenAI answers) |
//! | the proxy's ChatGPT login | 401 | `authentication_error` |
//! | usage not included, upstream 403 | 403 | `permission_error` |
//! | rate limited, quota | 429 | `rate_limit_error` |
//! | everything else (the proxy host, the upstream) | 500 / 502 / 503 / 504 | `server_error` |

use serde::Serialize;

use crate::canonical::{ApiError, ErrorResponse, FailureKind};

/// The OpenAI `type` of a failure kind (module table).
pub fn error_type(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::RateLimited | FailureKind::QuotaExceeded => "rate_limit_error",
        FailureKind::LoginRequired => "authentication_error",
        FailureKind::UsageNotIncluded | FailureKind::Forbidden => "permission_error",
        kind if kind.http_status().is_client_error() => "invalid_request_error",
        _ => "server_error",
    }
}

/// `{"error":{"message","type","param","code"}}`, the OpenAI error body, also sent as one SSE
/// frame mid-stream (clients.md §3.1: the SDKs raise `APIError` on a chunk with `error`).
#[derive(Debug, Serialize)]
pub(crate) struct ErrorEnvelope<'a> {
    pub error: ErrorOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorOut<'a> {
    pub message: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub param: Option<&'a str>,
    pub code: Option<&'a str>,
}

impl<'a> ErrorEnvelope<'a> {
    pub(crate) fn of(err: &'a ApiError) -> Self {
        ErrorEnvelope {
            error: ErrorOut {
                message: &err.message,
                kind: error_type(err.kind),
                param: err.param.as_deref(),
                code: err.code.as_deref(),
            },
        }
    }
}

/// The body `{"error":{"message","type","param","code"}}` of `err`.
pub fn error_body(err: &ApiError) -> Vec<u8> {
    // Plain strings always serialize; the fallback keeps the shape if that ever changed.
    serde_json::to_vec(&ErrorEnvelope::of(err)).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
            .to_vec()
    })
}

/// `err` as an OpenAI error answer: the kind's status, `Retry-After`, the JSON body.
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
    use crate::canonical::UpstreamFailure;

    fn json(err: &ApiError) -> serde_json::Value {
        serde_json::from_slice(&error_response(err).body).expect("JSON")
    }

    #[test]
    fn kinds_map_to_openai_types_and_statuses() {
        let cases = [
            (FailureKind::InvalidRequest, 400, "invalid_request_error"),
            (FailureKind::Unauthenticated, 401, "invalid_request_error"),
            (FailureKind::LoginRequired, 401, "authentication_error"),
            (FailureKind::Forbidden, 403, "permission_error"),
            (FailureKind::NotFound, 404, "invalid_request_error"),
            (
                FailureKind::UnsupportedMediaType,
                415,
                "invalid_request_error",
            ),
            (FailureKind::RateLimited, 429, "rate_limit_error"),
            (FailureKind::Internal, 500, "server_error"),
            (FailureKind::Transport, 502, "server_error"),
            (FailureKind::LoginUnavailable, 503, "server_error"),
            (FailureKind::IdleTimeout, 504, "server_error"),
        ];
        for (kind, status, ty) in cases {
            let err = ApiError::new(kind, "m");
            assert_eq!(error_response(&err).status, status, "{kind:?}");
            assert_eq!(json(&err)["error"]["type"], ty, "{kind:?}");
        }
    }

    #[test]
    fn body_has_the_four_fields_and_retry_after_rounds_up() {
        let mut f = UpstreamFailure::from_upstream(
            Some("rate_limit_exceeded"),
            None,
            "slow down",
            Some(1.2),
            None,
        );
        f.param = Some("model".into());
        let err = ApiError::from(&f);
        let r = error_response(&err);
        assert_eq!((r.status.as_u16(), r.retry_after_secs), (429, Some(2)));
        let v = json(&err);
        assert_eq!(
            v,
            serde_json::json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": "model", "code": "rate_limit_exceeded"}})
        );
    }
}
