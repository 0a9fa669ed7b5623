//! [`ApiError`]: what a client is told, before any protocol's spelling, and the rendered
//! [`ErrorResponse`] each protocol's `error.rs` makes of it.

use std::borrow::Cow;
use std::time::Duration;

use http::StatusCode;

use super::error::{FailureKind, ProtocolError, UpstreamFailure};

/// Upstream error `type`s too generic to serve as a machine-readable code.
const GENERIC_TYPES: [&str; 6] = [
    "invalid_request_error",
    "server_error",
    "api_error",
    "rate_limit_error",
    "authentication_error",
    "permission_error",
];

/// What a client is told, before any protocol's spelling: every failure a server answers with
/// (a request it cannot parse, a missing API key, an upstream failure) becomes one, and each
/// protocol's `error.rs` renders it as that protocol's status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Classification: decides the status and the protocol's error type.
    pub kind: FailureKind,
    /// Human-readable: what is wrong and what to do.
    pub message: String,
    /// Machine-readable code (OpenAI `code`), e.g. `context_length_exceeded`, `invalid_api_key`.
    pub code: Option<Cow<'static, str>>,
    /// The request field at fault, e.g. `messages[2].content`, `file`.
    pub param: Option<Cow<'static, str>>,
    /// How long the client should wait before retrying (a `Retry-After` header).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error of `kind` with its default code ([`FailureKind::default_code`]).
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: kind.default_code().map(Cow::Borrowed),
            param: None,
            retry_after: None,
        }
    }

    /// Sets the code.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the offending request field.
    pub fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The status of [`Self::kind`] ([`FailureKind::http_status`]).
    pub fn http_status(&self) -> StatusCode {
        self.kind.http_status()
    }

    /// [`Self::retry_after`] in whole seconds, rounded up, for a `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }
}

impl From<&UpstreamFailure> for ApiError {
    fn from(f: &UpstreamFailure) -> Self {
        let specific_type = f
            .error_type
            .as_deref()
            .filter(|t| !GENERIC_TYPES.contains(t));
        let code = f
            .code
            .as_deref()
            .or(specific_type)
            .map(|c| Cow::Owned(c.to_owned()))
            .or_else(|| f.kind.default_code().map(Cow::Borrowed));
        Self {
            kind: f.kind,
            message: f.message.to_string(),
            code,
            param: f.param.as_deref().map(|p| Cow::Owned(p.to_owned())),
            retry_after: f.retry_after,
        }
    }
}

impl From<UpstreamFailure> for ApiError {
    fn from(f: UpstreamFailure) -> Self {
        Self::from(&f)
    }
}

impl From<&ProtocolError> for ApiError {
    fn from(e: &ProtocolError) -> Self {
        match e {
            ProtocolError::Upstream(f) => f.into(),
            ProtocolError::InvalidRequest { message, param } => Self {
                kind: FailureKind::InvalidRequest,
                message: message.to_string(),
                code: None,
                param: param.clone(),
                retry_after: None,
            },
            ProtocolError::InvalidJson(_) => {
                Self::new(FailureKind::InvalidRequest, e.to_string()).with_code("invalid_json")
            }
            ProtocolError::MalformedEvent { .. } => {
                Self::new(FailureKind::MalformedStream, e.to_string())
            }
            ProtocolError::Serialize(_) => Self::new(FailureKind::Internal, e.to_string()),
        }
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        Self::from(&e)
    }
}

/// An error answer before anything was sent, rendered by a protocol: status, `Retry-After`,
/// content type and body bytes. The server turns it into an HTTP response as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// `Retry-After` in whole seconds, when the client should wait.
    pub retry_after_secs: Option<u64>,
    /// `Content-Type` of `body`.
    pub content_type: &'static str,
    /// The body, in the protocol's error shape.
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_codes_prefer_the_upstream_then_a_specific_type_then_the_kind() {
        let f = UpstreamFailure::from_upstream(None, Some("usage_limit_reached"), "m", None, None);
        assert_eq!(
            ApiError::from(&f).code.as_deref(),
            Some("usage_limit_reached")
        );
        let f = UpstreamFailure::from_upstream(
            Some("context_length_exceeded"),
            Some("invalid_request_error"),
            "m",
            None,
            None,
        );
        assert_eq!(
            ApiError::from(&f).code.as_deref(),
            Some("context_length_exceeded")
        );
        let f = UpstreamFailure::premature_close();
        let e = ApiError::from(&f);
        assert_eq!(
            (e.http_status(), e.code.as_deref()),
            (StatusCode::GATEWAY_TIMEOUT, Some("stream_closed"))
        );
        let f = UpstreamFailure::from_upstream(None, Some("server_error"), "m", Some(1.2), None);
        let e = ApiError::from(&f);
        assert_eq!((e.code.clone(), e.retry_after_secs()), (None, Some(2)));
    }
}
