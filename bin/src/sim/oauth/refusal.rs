//! How a refused simulated account answers (protocols.md §1.10): a spent usage limit, a ban, a
//! Cloudflare challenge.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// How [`super::SimAuth::set_refusal`] makes one account answer every request that carries a valid
/// token (protocols.md §1.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimRefusal {
    /// 429 `{"error":{"type":"usage_limit_reached",…,"resets_in_seconds":N}}`.
    UsageLimit {
        /// Seconds until the limit resets, as sent in `resets_in_seconds` and `Retry-After`.
        resets_in_seconds: u64,
    },
    /// 403 `{"detail":"Your account has been deactivated."}` (a banned account).
    Banned,
    /// 403 with Cloudflare's "Just a moment..." HTML page and `cf-mitigated: challenge`.
    Challenge,
    /// `200 text/event-stream` whose first events are `response.created` and `response.failed`
    /// with `rate_limit_exceeded`, "Please try again in Ns." (the limit reported in-stream).
    StreamedLimit {
        /// The `N` of the message.
        retry_after_seconds: u64,
    },
}

/// The answer of an account refused with `refusal`.
pub(super) fn refusal_response(refusal: SimRefusal) -> Response {
    match refusal {
        SimRefusal::UsageLimit { resets_in_seconds } => {
            let resets_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + resets_in_seconds)
                .unwrap_or_default();
            let body = json!({"error": {"type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus", "resets_at": resets_at,
                "resets_in_seconds": resets_in_seconds}});
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, resets_in_seconds.to_string())],
                Json(body),
            )
                .into_response()
        }
        SimRefusal::Banned => (
            StatusCode::FORBIDDEN,
            Json(json!({"detail": "Your account has been deactivated."})),
        )
            .into_response(),
        SimRefusal::Challenge => (
            StatusCode::FORBIDDEN,
            [
                (header::CONTENT_TYPE, "text/html; charset=UTF-8"),
                (header::HeaderName::from_static("cf-mitigated"), "challenge"),
            ],
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>",
        )
            .into_response(),
        SimRefusal::StreamedLimit {
            retry_after_seconds,
        } => {
            let created = json!({"type": "response.created", "sequence_number": 0,
                "response": {"id": "resp_sim_limited", "object": "response", "status": "in_progress"}});
            let failed = json!({"type": "response.failed", "sequence_number": 1,
                "response": {"id": "resp_sim_limited", "object": "response", "status": "failed",
                    "error": {"code": "rate_limit_exceeded",
                        "message": format!("Rate limit reached. Please try again in {retry_after_seconds}s.")}}});
            let body = format!(
                "event: response.created\ndata: {created}\n\nevent: response.failed\ndata: {failed}\n\n"
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/event-stream")],
                body,
            )
                .into_response()
        }
    }
}
