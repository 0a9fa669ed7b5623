//! Where the server's own failures become the neutral [`ApiError`], and where an `ApiError`
//! becomes an HTTP response in the caller's protocol ([`Rejection`]).
//!
//! Each protocol decides its own status and body ([`Protocol::error_response`]); this module
//! only classifies what the binary knows and the protocols do not: audio that cannot be used,
//! a login that cannot be used, the dictation endpoint's statuses. A 500 always means the proxy
//! host is at fault (a missing decoder, a local I/O error), never the request.
//!
//! | failure | kind → OpenAI status | `param` | `code` |
//! |---|---|---|---|
//! | empty audio ([`CodecError::Empty`]) | invalid request → 400 | `file` | `empty_file` |
//! | unrecognised or unsupported container | invalid request → 400 | `file` | `invalid_file_format` |
//! | corrupt / truncated audio, decoder failure, bad codec option | invalid request → 400 | `file` | `invalid_audio` |
//! | `rust-silk` missing on the proxy host | internal → 500 | — | `decoder_missing` |
//! | encoder failure, local I/O failure | internal → 500 | — | `internal_error` |
//! | the proxy's ChatGPT login is missing, expired or revoked | login required → 401 | — | `upstream_login_required` |
//! | the token endpoint is unreachable, `auth.json` unreadable right now | login unavailable → 503 | — | `upstream_auth_unavailable` |
//! | dictation endpoint 401 after a refresh | login required → 401 | — | `upstream_login_required` |
//! | dictation endpoint 403 | forbidden → 403 | — | `upstream_forbidden` |
//! | dictation endpoint 400 / 422 (it rejected the audio) | invalid request → 400 | `file` | `upstream_rejected` |
//! | dictation endpoint 413 | too large → 413 | `file` | `file_too_large` |
//! | dictation endpoint 429 | rate limited → 429 | — | `rate_limit_exceeded` |
//! | dictation endpoint 5xx, other statuses, unreadable answer, transport failure | server error → 502 | — | `upstream_error` |
//!
//! The Codex Responses backend's failures are classified by
//! [`crate::upstream::responses::UpstreamError::failure`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codex_pipe_codecs::CodecError;
use codex_pipe_protocols::{ApiError, ErrorResponse, FailureKind, Protocol};

use crate::auth::AuthError;
use crate::upstream::transcribe::TranscribeError;

/// An error answer in a protocol's shape: what every handler returns when it fails before its
/// answer started.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// Whose error shape.
    pub protocol: Protocol,
    /// What went wrong.
    pub error: ApiError,
}

impl Rejection {
    /// `error` in `protocol`'s shape.
    pub fn new(protocol: Protocol, error: impl Into<ApiError>) -> Self {
        Rejection {
            protocol,
            error: error.into(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.error.http_status();
        if status.is_server_error() {
            tracing::warn!(%status, code = ?self.error.code, message = %self.error.message, "request failed");
        } else {
            tracing::info!(%status, code = ?self.error.code, message = %self.error.message, "request rejected");
        }
        http_response(self.protocol.error_response(&self.error))
    }
}

/// A rendered error as an HTTP response: status, `Content-Type`, `Retry-After`, body.
pub fn http_response(rendered: ErrorResponse) -> Response {
    let mut response = (rendered.status, rendered.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    if let Some(secs) = rendered.retry_after_secs {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The kind of an HTTP status the server itself answers with (axum's rejections, limits).
pub fn kind_of_status(status: StatusCode) -> FailureKind {
    match status {
        StatusCode::UNAUTHORIZED => FailureKind::Unauthenticated,
        StatusCode::NOT_FOUND => FailureKind::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => FailureKind::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => FailureKind::PayloadTooLarge,
        StatusCode::URI_TOO_LONG => FailureKind::UriTooLong,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => FailureKind::UnsupportedMediaType,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => FailureKind::HeadersTooLarge,
        s if s.is_client_error() => FailureKind::InvalidRequest,
        _ => FailureKind::Internal,
    }
}

/// Audio that cannot be used, or a codec failure on the proxy host (module table).
pub fn codec_error(e: &CodecError) -> ApiError {
    let message = e.to_string();
    match e {
        CodecError::DecoderMissing { .. } => ApiError::new(
            FailureKind::Internal,
            format!("the proxy host cannot decode this audio: {message}"),
        )
        .with_code("decoder_missing"),
        _ if !e.is_client_error() => ApiError::new(
            FailureKind::Internal,
            format!("the proxy failed while converting the audio: {message}"),
        ),
        CodecError::Empty => bad_file("empty_file", message),
        CodecError::UnknownContainer { .. } | CodecError::Unsupported { .. } => {
            bad_file("invalid_file_format", message)
        }
        _ => bad_file("invalid_audio", message),
    }
}

fn bad_file(code: &'static str, message: String) -> ApiError {
    ApiError::new(
        FailureKind::InvalidRequest,
        format!("invalid audio file: {message}"),
    )
    .with_code(code)
    .with_param("file")
}

/// A login that cannot be used ([`AuthError::failure`]).
pub fn auth_error(e: &AuthError) -> ApiError {
    ApiError::from(&e.failure())
}

/// A failed transcription (module table).
pub fn transcribe_error(e: &TranscribeError) -> ApiError {
    match e {
        TranscribeError::Codec(c) => codec_error(c),
        TranscribeError::Auth(a) => auth_error(a),
        TranscribeError::Status { status, body } => dictation_status(*status, body),
        TranscribeError::Transport(_) | TranscribeError::BadResponse(_) => {
            ApiError::new(FailureKind::ServerError, e.to_string()).with_code("upstream_error")
        }
        TranscribeError::Accounts(p) => ApiError::from(&p.failure()),
    }
}

/// The mapping of a dictation endpoint error status (module table).
fn dictation_status(status: u16, body: &str) -> ApiError {
    let said = format!("the transcription endpoint answered HTTP {status}: {body}");
    match status {
        401 => ApiError::new(
            FailureKind::LoginRequired,
            format!("{said}; the login was refreshed and still rejected (this is the proxy's own ChatGPT login, not your API key: run `codex login` on the proxy host)"),
        ),
        403 => ApiError::new(FailureKind::Forbidden, said),
        400 | 422 => ApiError::new(FailureKind::InvalidRequest, said)
            .with_code("upstream_rejected")
            .with_param("file"),
        413 => ApiError::new(FailureKind::PayloadTooLarge, said)
            .with_code("file_too_large")
            .with_param("file"),
        429 => ApiError::new(FailureKind::RateLimited, said),
        _ => ApiError::new(FailureKind::ServerError, said).with_code("upstream_error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn openai(e: &ApiError) -> serde_json::Value {
        serde_json::from_slice(&Protocol::OpenAi.error_response(e).body).expect("valid JSON")
    }

    #[test]
    fn codec_errors_from_the_client_are_400_with_param_file() {
        let e = codec_error(&CodecError::Empty);
        assert_eq!(
            (e.http_status(), e.code.as_deref(), e.param.as_deref()),
            (StatusCode::BAD_REQUEST, Some("empty_file"), Some("file"))
        );
        let e = codec_error(&CodecError::UnknownContainer {
            head: "00 01".into(),
        });
        assert_eq!(
            (e.http_status(), e.code.as_deref()),
            (StatusCode::BAD_REQUEST, Some("invalid_file_format"))
        );
        let e = codec_error(&CodecError::Io(std::io::Error::other("disk full")));
        assert_eq!(e.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        let missing = CodecError::DecoderMissing {
            decoder: "rust-silk".into(),
            detail: "not found".into(),
            install: "cargo install rust-silk".into(),
        };
        let e = codec_error(&missing);
        assert_eq!(
            (e.http_status(), e.code.as_deref()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("decoder_missing"))
        );
        assert_eq!(openai(&e)["error"]["type"], "server_error");
    }

    #[test]
    fn upstream_statuses_map_per_the_table() {
        let status = |s: u16| {
            transcribe_error(&TranscribeError::Status {
                status: s,
                body: "x".into(),
            })
            .http_status()
        };
        assert_eq!(status(429), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status(500), StatusCode::BAD_GATEWAY);
        assert_eq!(status(503), StatusCode::BAD_GATEWAY);
        assert_eq!(status(403), StatusCode::FORBIDDEN);
        assert_eq!(status(401), StatusCode::UNAUTHORIZED);
        assert_eq!(status(400), StatusCode::BAD_REQUEST);
        assert_eq!(status(413), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(302), StatusCode::BAD_GATEWAY);
        let e = transcribe_error(&TranscribeError::Transport("refused".into()));
        assert_eq!(e.http_status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn login_failures_tell_the_operator_to_run_codex_login() {
        let e = transcribe_error(&TranscribeError::Auth(AuthError::NotLoggedIn {
            path: PathBuf::from("/nowhere/auth.json"),
        }));
        assert_eq!(e.http_status(), StatusCode::UNAUTHORIZED);
        assert_eq!(openai(&e)["error"]["type"], "authentication_error");
        assert_eq!(e.code.as_deref(), Some("upstream_login_required"));
        assert!(e.message.contains("codex login"), "{}", e.message);
        let e = transcribe_error(&TranscribeError::Auth(AuthError::RefreshUnavailable {
            url: "http://127.0.0.1:1".into(),
            detail: "refused".into(),
        }));
        assert_eq!(e.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code.as_deref(), Some("upstream_auth_unavailable"));
    }

    #[test]
    fn rejections_render_in_the_protocol_with_retry_after() {
        let mut e = ApiError::new(FailureKind::RateLimited, "slow down");
        e.retry_after = Some(std::time::Duration::from_millis(1500));
        let r = Rejection::new(Protocol::OpenAi, e).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
