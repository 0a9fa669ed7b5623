//! The OpenAI error body, and the one place where every failure of an OpenAI-style surface
//! becomes an HTTP status.
//!
//! Body (OpenAI API reference, "Error codes"; what the official SDKs parse into
//! `APIStatusError.{message,type,param,code}`):
//!
//! ```json
//! {"error": {"message": "…", "type": "invalid_request_error", "param": "file", "code": null}}
//! ```
//!
//! | failure | status | `type` | `param` | `code` |
//! |---|---|---|---|---|
//! | body is not `multipart/form-data`, malformed multipart | 400 | `invalid_request_error` | — | `invalid_multipart` |
//! | no `file` part | 400 | `invalid_request_error` | `file` | `missing_required_parameter` |
//! | bad `response_format`, `temperature`, `timestamp_granularities[]`, over-long field | 400 | `invalid_request_error` | the field | `invalid_value` |
//! | `stream=true` | 400 | `invalid_request_error` | `stream` | `unsupported_value` |
//! | empty audio ([`CodecError::Empty`]) | 400 | `invalid_request_error` | `file` | `empty_file` |
//! | unrecognised or unsupported container | 400 | `invalid_request_error` | `file` | `invalid_file_format` |
//! | corrupt / truncated audio, decoder failure, bad codec option | 400 | `invalid_request_error` | `file` | `invalid_audio` |
//! | upload over `--max-upload-mb` | 413 | `invalid_request_error` | `file` | `file_too_large` |
//! | wrong or missing proxy API key | 401 | `invalid_request_error` | — | `invalid_api_key` |
//! | the proxy's ChatGPT login is missing, unreadable, expired or revoked ([`AuthError`]) | 401 | `authentication_error` | — | `upstream_login_required` |
//! | the token refresh endpoint is unreachable or failing ([`AuthError::is_transient`]) | 503 | `server_error` | — | `upstream_auth_unavailable` |
//! | upstream 401 after a refresh | 401 | `authentication_error` | — | `upstream_login_required` |
//! | upstream 403 (often a Cloudflare challenge) | 403 | `permission_error` | — | `upstream_forbidden` |
//! | upstream 400 / 422 (it rejected the audio) | 400 | `invalid_request_error` | `file` | `upstream_rejected` |
//! | upstream 413 | 413 | `invalid_request_error` | `file` | `file_too_large` |
//! | upstream 429 | 429 | `rate_limit_error` | — | `rate_limit_exceeded` |
//! | upstream 5xx, other statuses, unreadable or unexpected answer, transport failure | 502 | `server_error` | — | `upstream_error` |
//! | `rust-silk` missing on the proxy host | 500 | `server_error` | — | `decoder_missing` |
//! | encoder failure, local I/O failure | 500 | `server_error` | — | `internal_error` |
//! | unknown route | 404 | `invalid_request_error` | — | `unknown_url` |
//!
//! A 500 always means the proxy host is at fault, never the request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codex_pipe_codecs::CodecError;
use serde::Serialize;

use crate::auth::AuthError;
use crate::upstream::transcribe::TranscribeError;

/// Appended to upstream login failures so the operator knows where to act.
const LOGIN_HINT: &str =
    "(this is the proxy's own ChatGPT login, not your API key: run `codex login` on the proxy host)";

/// One OpenAI-style error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OpenAI `type`: `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `rate_limit_error`, `server_error`.
    pub error_type: &'static str,
    /// OpenAI `code`, machine-readable (see the module table).
    pub code: Option<&'static str>,
    /// The request field at fault, e.g. `file`.
    pub param: Option<String>,
    /// Human-readable message: what is wrong and what to do.
    pub message: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    error_type: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        error_type: &'static str,
        code: &'static str,
        message: String,
    ) -> Self {
        ApiError {
            status,
            error_type,
            code: Some(code),
            param: None,
            message,
        }
    }

    /// Sets `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400 `invalid_request_error` with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message.into(),
        )
    }

    /// 400 for an invalid value of request field `param`.
    pub fn invalid_value(param: &str, message: impl Into<String>) -> Self {
        Self::bad_request("invalid_value", message).with_param(param)
    }

    /// 400: the required `file` part is absent.
    pub fn missing_file() -> Self {
        Self::bad_request(
            "missing_required_parameter",
            "the multipart body has no `file` part: send the audio as the `file` field",
        )
        .with_param("file")
    }

    /// 413: the upload is larger than `limit_bytes`.
    pub fn too_large(limit_bytes: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "file_too_large",
            format!(
                "the upload is larger than this proxy's limit of {} bytes ({:.1} MB); raise --max-upload-mb or send a smaller file",
                limit_bytes,
                limit_bytes as f64 / 1_000_000.0
            ),
        )
        .with_param("file")
    }

    /// 401: wrong or missing proxy API key.
    pub fn invalid_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "missing or incorrect API key: send the key this proxy was started with (--api-key) as `Authorization: Bearer <key>`".into(),
        )
    }

    /// 500: the proxy itself failed (never the request's fault).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            message.into(),
        )
    }

    /// 404 for a route this server does not serve.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_url",
            format!("unknown route: {method} {path}"),
        )
    }

    /// The JSON body bytes.
    pub fn body(&self) -> Vec<u8> {
        let envelope = Envelope {
            error: Body {
                message: &self.message,
                error_type: self.error_type,
                param: self.param.as_deref(),
                code: self.code,
            },
        };
        // Serializing plain strings into a Vec cannot fail; fall back to a fixed body if it did.
        serde_json::to_vec(&envelope).unwrap_or_else(|_| {
            br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
                .to_vec()
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl From<&CodecError> for ApiError {
    fn from(e: &CodecError) -> Self {
        let message = e.to_string();
        match e {
            CodecError::DecoderMissing { .. } => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "decoder_missing",
                format!("the proxy host cannot decode this audio: {message}"),
            ),
            _ if !e.is_client_error() => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal_error",
                format!("the proxy failed while converting the audio: {message}"),
            ),
            CodecError::Empty => {
                Self::bad_request("empty_file", format!("invalid audio file: {message}"))
                    .with_param("file")
            }
            CodecError::UnknownContainer { .. } | CodecError::Unsupported { .. } => {
                Self::bad_request(
                    "invalid_file_format",
                    format!("invalid audio file: {message}"),
                )
                .with_param("file")
            }
            _ => Self::bad_request("invalid_audio", format!("invalid audio file: {message}"))
                .with_param("file"),
        }
    }
}

impl From<&AuthError> for ApiError {
    fn from(e: &AuthError) -> Self {
        if e.is_transient() {
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "upstream_auth_unavailable",
                format!("the proxy could not refresh its ChatGPT login: {e}"),
            );
        }
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "upstream_login_required",
            format!("{e} {LOGIN_HINT}"),
        )
    }
}

impl From<&TranscribeError> for ApiError {
    fn from(e: &TranscribeError) -> Self {
        match e {
            TranscribeError::Codec(c) => c.into(),
            TranscribeError::Auth(a) => a.into(),
            TranscribeError::Status { status, body } => upstream_status(*status, body),
            TranscribeError::Accounts(p) => {
                let status = p.failure().kind.http_status();
                Self::new(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
                    if status == 429 {
                        "rate_limit_error"
                    } else {
                        "permission_error"
                    },
                    if status == 429 {
                        "usage_limit_reached"
                    } else {
                        "no_usable_account"
                    },
                    p.to_string(),
                )
            }
            TranscribeError::Transport(_) | TranscribeError::BadResponse(_) => Self::new(
                StatusCode::BAD_GATEWAY,
                "server_error",
                "upstream_error",
                e.to_string(),
            ),
        }
    }
}

impl From<TranscribeError> for ApiError {
    fn from(e: TranscribeError) -> Self {
        (&e).into()
    }
}

/// The mapping of an upstream error status (see the module table).
fn upstream_status(status: u16, body: &str) -> ApiError {
    let said = format!("the transcription endpoint answered HTTP {status}: {body}");
    match status {
        401 => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "upstream_login_required",
            format!("{said}; the login was refreshed and still rejected {LOGIN_HINT}"),
        ),
        403 => ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "upstream_forbidden",
            said,
        ),
        400 | 422 => ApiError::bad_request("upstream_rejected", said).with_param("file"),
        413 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "file_too_large",
            said,
        )
        .with_param("file"),
        429 => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit_exceeded",
            said,
        ),
        _ => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "upstream_error",
            said,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn json(e: &ApiError) -> serde_json::Value {
        serde_json::from_slice(&e.body()).expect("valid JSON")
    }

    #[test]
    fn body_has_the_four_openai_fields() {
        let v = json(&ApiError::missing_file());
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "file");
        assert_eq!(v["error"]["code"], "missing_required_parameter");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`file`")));
        let v = json(&ApiError::invalid_api_key());
        assert_eq!(v["error"]["param"], serde_json::Value::Null);
    }

    #[test]
    fn codec_errors_from_the_client_are_400_with_param_file() {
        let e: ApiError = (&CodecError::Empty).into();
        assert_eq!(
            (e.status, e.code, e.param.as_deref()),
            (StatusCode::BAD_REQUEST, Some("empty_file"), Some("file"))
        );
        let e: ApiError = (&CodecError::UnknownContainer {
            head: "00 01".into(),
        })
            .into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, Some("invalid_file_format"))
        );
        let e: ApiError = (&CodecError::Io(std::io::Error::other("disk full"))).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let missing = CodecError::DecoderMissing {
            decoder: "rust-silk".into(),
            detail: "not found".into(),
            install: "cargo install rust-silk".into(),
        };
        let e: ApiError = (&missing).into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("decoder_missing"))
        );
    }

    #[test]
    fn upstream_statuses_map_per_the_table() {
        let status = |s: u16| {
            ApiError::from(TranscribeError::Status {
                status: s,
                body: "x".into(),
            })
            .status
        };
        assert_eq!(status(429), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status(500), StatusCode::BAD_GATEWAY);
        assert_eq!(status(503), StatusCode::BAD_GATEWAY);
        assert_eq!(status(403), StatusCode::FORBIDDEN);
        assert_eq!(status(401), StatusCode::UNAUTHORIZED);
        assert_eq!(status(400), StatusCode::BAD_REQUEST);
        assert_eq!(status(413), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(302), StatusCode::BAD_GATEWAY);
        let e = ApiError::from(TranscribeError::Transport("refused".into()));
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn login_failures_tell_the_operator_to_run_codex_login() {
        let e = ApiError::from(TranscribeError::Auth(AuthError::NotLoggedIn {
            path: PathBuf::from("/nowhere/auth.json"),
        }));
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert_eq!(e.error_type, "authentication_error");
        assert!(e.message.contains("codex login"), "{}", e.message);
        let e = ApiError::from(TranscribeError::Auth(AuthError::RefreshUnavailable {
            url: "http://127.0.0.1:1".into(),
            detail: "refused".into(),
        }));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
