//! Ollama's error shape: `{"error":"<message>"}` with the HTTP status (protocols.md §4d,
//! clients.md §3.4: the ollama clients raise `ResponseError` with `.error` = the message and
//! `.status_code` = the status; a mid-stream `{"error":…}` line raises too). The one place
//! where an [`ApiError`] meets the Ollama API.

use crate::canonical::{ApiError, ErrorResponse};

use super::wire::ErrorOut;

/// The body `{"error":"…"}` of `err`.
pub fn error_body(err: &ApiError) -> Vec<u8> {
    serde_json::to_vec(&ErrorOut {
        error: &err.message,
    })
    .unwrap_or_else(|_| br#"{"error":"internal error"}"#.to_vec())
}

/// `err` as an Ollama error answer: the kind's status, `Retry-After`, `{"error":"…"}`.
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
    fn status_of_the_kind_and_a_plain_message() {
        let mut err = ApiError::new(FailureKind::RateLimited, "slow \"down\"");
        err.retry_after = Some(std::time::Duration::from_millis(1500));
        let r = error_response(&err);
        assert_eq!((r.status.as_u16(), r.retry_after_secs), (429, Some(2)));
        assert_eq!(r.body, br#"{"error":"slow \"down\""}"#);
        let r = error_response(&ApiError::new(FailureKind::NotFound, "model 'x' not found"));
        assert_eq!(r.status.as_u16(), 404);
    }
}
