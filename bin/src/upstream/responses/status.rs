//! Error answers of the backend: the status, its body (protocols.md §1.10: `{"detail":…}`,
//! `{"error":{message,type,code,param,resets_in_seconds,resets_at}}` or `{"error":"…"}`, read with
//! typed wire structs) and the `Retry-After` header, classified into one [`UpstreamFailure`].

use std::time::Duration;

use codex_pipe_protocols::{FailureKind, UpstreamFailure};
use futures::StreamExt;
use reqwest::header::RETRY_AFTER;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::UpstreamError;

/// Largest upstream error body read (bytes); the rest is not read.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Longest message kept from a non-JSON error body (bytes).
const ERROR_TEXT_CLIP: usize = 512;

/// An error status from the backend, with what its body and headers said
/// (protocols.md §1.10: `{"detail":…}` or `{"error":{message,type,code,resets_in_seconds,…}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusError {
    /// HTTP status code.
    pub status: u16,
    /// `detail`, `error.message`, or the start of a non-JSON body.
    pub message: String,
    /// `error.type`, e.g. `usage_limit_reached`.
    pub error_type: Option<String>,
    /// `error.code`, e.g. `rate_limit_exceeded`.
    pub code: Option<String>,
    /// `error.param`.
    pub param: Option<String>,
    /// When to retry: `error.resets_in_seconds`, else the `Retry-After` header (seconds), else a
    /// "try again in 1.5s" hint in the message.
    pub retry_after: Option<Duration>,
    /// `error.resets_at`, Unix seconds.
    pub resets_at: Option<u64>,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the Codex backend answered HTTP {}: {}",
            self.status, self.message
        )
    }
}

impl StatusError {
    /// The classified failure: kind from `code` / `type` / message, then from the status
    /// ([`FailureKind::classify_status`], protocols.md §1.10).
    pub fn failure(&self) -> UpstreamFailure {
        UpstreamFailure {
            kind: FailureKind::classify_status(
                self.status,
                self.code.as_deref(),
                self.error_type.as_deref(),
                &self.message,
            ),
            code: self.code.as_deref().map(Box::from),
            error_type: self.error_type.as_deref().map(Box::from),
            param: self.param.as_deref().map(Box::from),
            message: Box::from(self.message.as_str()),
            retry_after: self.retry_after,
            resets_at: self.resets_at,
        }
    }
}

/// Reads an error answer into a [`StatusError`].
pub(super) async fn status_error(resp: reqwest::Response) -> UpstreamError {
    let status = resp.status().as_u16();
    let header_retry = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    UpstreamError::Status(Box::new(parse_status_error(status, &body, header_retry)))
}

/// An error body (protocols.md §1.10): `{"detail": …}` or `{"error": {…}}` or
/// `{"error": "…"}`; any field may be absent, and values that are not strings are kept as
/// their JSON text.
#[derive(Deserialize)]
struct ErrorBodyWire<'a> {
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    detail: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ErrorObjectWire<'a> {
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow)]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow)]
    code: Option<&'a RawValue>,
    #[serde(default, borrow)]
    param: Option<&'a RawValue>,
    #[serde(default)]
    resets_in_seconds: Option<f64>,
    #[serde(default)]
    resets_at: Option<u64>,
}

/// A JSON value as text: a string's content, `None` for `null`, any other value's JSON.
fn text_of(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    match raw.get().as_bytes().first() {
        Some(b'"') => serde_json::from_str(raw.get()).ok(),
        Some(b'n') => None,
        _ => Some(raw.get().to_owned()),
    }
}

/// Parses an error body (protocols.md §1.10) into a [`StatusError`].
pub fn parse_status_error(status: u16, body: &[u8], header_retry: Option<Duration>) -> StatusError {
    let wire: Option<ErrorBodyWire<'_>> = serde_json::from_slice(body).ok();
    let error = wire.as_ref().and_then(|w| w.error);
    let object: Option<ErrorObjectWire<'_>> = error
        .filter(|e| e.get().starts_with('{'))
        .and_then(|e| serde_json::from_str(e.get()).ok());
    let message = object
        .as_ref()
        .and_then(|o| text_of(o.message))
        .or_else(|| {
            error
                .filter(|e| e.get().starts_with('"'))
                .and_then(|e| text_of(Some(e)))
        })
        .or_else(|| wire.as_ref().and_then(|w| text_of(w.detail)))
        .unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(body);
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                format!("HTTP {status} with an empty body")
            } else {
                trimmed[..trimmed.floor_char_boundary(ERROR_TEXT_CLIP)].to_owned()
            }
        });
    let resets_in = object
        .as_ref()
        .and_then(|o| o.resets_in_seconds)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    StatusError {
        status,
        retry_after: resets_in
            .or(header_retry)
            .or_else(|| codex_pipe_protocols::canonical::parse_retry_after(&message)),
        error_type: object.as_ref().and_then(|o| text_of(o.kind)),
        code: object.as_ref().and_then(|o| text_of(o.code)),
        param: object.as_ref().and_then(|o| text_of(o.param)),
        resets_at: object.as_ref().and_then(|o| o.resets_at),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_body() {
        let e = parse_status_error(
            400,
            br#"{"detail":"Unsupported parameter: temperature"}"#,
            None,
        );
        assert_eq!(e.message, "Unsupported parameter: temperature");
        assert_eq!(e.code, None);
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn usage_limit_body_prefers_resets_in_seconds() {
        let e = parse_status_error(
            429,
            br#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1735689600,"resets_in_seconds":7}}"#,
            Some(Duration::from_secs(30)),
        );
        assert_eq!(e.error_type.as_deref(), Some("usage_limit_reached"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(e.resets_at, Some(1_735_689_600));
        let f = e.failure();
        assert_eq!(f.kind.http_status(), 429);
        assert_eq!(f.kind, FailureKind::RateLimited);
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_header_then_message() {
        let e = parse_status_error(
            429,
            br#"{"error":{"message":"slow down"}}"#,
            Some(Duration::from_secs(3)),
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        let e = parse_status_error(
            429,
            br#"{"error":{"message":"Please try again in 1.5s."}}"#,
            None,
        );
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn html_body_is_clipped_text() {
        let html = format!("<html>{}</html>", "x".repeat(2000));
        let e = parse_status_error(403, html.as_bytes(), None);
        assert!(e.message.starts_with("<html>"));
        assert_eq!(e.message.len(), ERROR_TEXT_CLIP);
        let e = parse_status_error(502, b"", None);
        assert_eq!(e.message, "HTTP 502 with an empty body");
    }
}
