//! The OAuth refresh call (protocols.md §2.3):
//!
//! ```http
//! POST https://auth.openai.com/oauth/token
//! Content-Type: application/json
//!
//! {"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_token":"<rt>"}
//! ```
//!
//! → `{"id_token":…,"access_token":…,"refresh_token":…}` (each optional). Permanent failures
//! (HTTP 401, or an error code `refresh_token_expired` / `refresh_token_reused` /
//! `refresh_token_invalidated` in `error.code`, `error` or `code`) become
//! [`AuthError::ReloginRequired`]; everything else is transient. Serializing concurrent refreshes
//! is the caller's job (`AuthStore`): refresh tokens are single use.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use serde::Deserialize;

use super::AuthError;

/// OAuth client id of the Codex CLI, sent as `client_id`.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// The production token endpoint.
pub const DEFAULT_REFRESH_URL: &str = "https://auth.openai.com/oauth/token";

/// Environment variable that overrides the token endpoint (same name as the Codex CLI's).
pub const REFRESH_URL_ENV: &str = "CODEX_REFRESH_TOKEN_URL_OVERRIDE";

/// Whole-request timeout of one refresh call.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// Error codes that mean the refresh token is dead and only a new login helps.
pub const PERMANENT_CODES: [&str; 3] = [
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
];

/// Longest token-endpoint response body read, in bytes; longer bodies are cut off there.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Longest excerpt of an error body quoted in an error message, in characters.
const MAX_DETAIL_CHARS: usize = 300;

/// Tokens returned by a successful refresh; absent fields keep their old values.
#[derive(Default, Deserialize)]
pub struct RefreshedTokens {
    /// New access token.
    pub access_token: Option<String>,
    /// New (rotated) refresh token.
    pub refresh_token: Option<String>,
    /// New id token.
    pub id_token: Option<String>,
}

impl std::fmt::Debug for RefreshedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("RefreshedTokens")
            .field("access_token", &r(&self.access_token))
            .field("refresh_token", &r(&self.refresh_token))
            .field("id_token", &r(&self.id_token))
            .finish()
    }
}

/// Client for the token endpoint at one URL.
#[derive(Debug, Clone)]
pub struct RefreshClient {
    http: reqwest::Client,
    url: String,
}

impl RefreshClient {
    /// A client posting to `url` through `http` (shared with the upstream client).
    pub fn new(http: reqwest::Client, url: String) -> Self {
        Self { http, url }
    }

    /// The token endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Exchanges `refresh_token` for new tokens. `auth_path` names the login in errors.
    ///
    /// # Errors
    /// [`AuthError::ReloginRequired`] on a permanent failure; [`AuthError::RefreshUnavailable`]
    /// when the endpoint cannot be reached or times out ([`REFRESH_TIMEOUT`]);
    /// [`AuthError::RefreshFailed`] for other error statuses;
    /// [`AuthError::RefreshResponseInvalid`] for a 2xx body that is not the expected JSON.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        auth_path: &Path,
    ) -> Result<RefreshedTokens, AuthError> {
        let body = serde_json::json!({
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        });
        let response = self
            .http
            .post(&self.url)
            .timeout(REFRESH_TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unavailable(&e))?;
        let status = response.status();
        let bytes = read_limited(response)
            .await
            .map_err(|e| self.unavailable(&e))?;
        if status.is_success() {
            return serde_json::from_slice::<RefreshedTokens>(&bytes).map_err(|e| {
                AuthError::RefreshResponseInvalid {
                    url: self.url.clone(),
                    detail: format!("not the expected JSON object: {e}"),
                }
            });
        }
        let code = error_code(&bytes);
        let permanent = status == reqwest::StatusCode::UNAUTHORIZED
            || code
                .as_deref()
                .is_some_and(|c| PERMANENT_CODES.contains(&c));
        if permanent {
            return Err(AuthError::ReloginRequired {
                path: auth_path.to_path_buf(),
                reason: code.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
            });
        }
        Err(AuthError::RefreshFailed {
            url: self.url.clone(),
            status: status.as_u16(),
            detail: code.unwrap_or_else(|| excerpt(&bytes)),
        })
    }

    fn unavailable(&self, e: &reqwest::Error) -> AuthError {
        let mut detail = if e.is_timeout() {
            format!("timed out after {} s", REFRESH_TIMEOUT.as_secs())
        } else {
            e.to_string()
        };
        // reqwest's Display omits the cause ("error sending request"); append the chain.
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        AuthError::RefreshUnavailable {
            url: self.url.clone(),
            detail,
        }
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of the body.
async fn read_limited(response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = MAX_RESPONSE_BYTES - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == MAX_RESPONSE_BYTES {
            break;
        }
    }
    Ok(out)
}

/// The error code of a token-endpoint error body: `error.code`, else `error` when it is a string,
/// else `code`.
pub fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = match v.get("error") {
        Some(serde_json::Value::Object(e)) => e.get("code").and_then(|c| c.as_str()),
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
    .or_else(|| v.get("code").and_then(|c| c.as_str()))?;
    Some(code.to_owned())
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    let mut out: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    if text.chars().count() > MAX_DETAIL_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_error_code_in_each_documented_place() {
        assert_eq!(
            error_code(br#"{"error":{"code":"refresh_token_reused","message":"m"}}"#).as_deref(),
            Some("refresh_token_reused")
        );
        assert_eq!(
            error_code(br#"{"error":"refresh_token_expired"}"#).as_deref(),
            Some("refresh_token_expired")
        );
        assert_eq!(
            error_code(br#"{"code":"refresh_token_invalidated"}"#).as_deref(),
            Some("refresh_token_invalidated")
        );
        assert_eq!(error_code(br#"{"error":{"message":"m"}}"#), None);
        assert_eq!(error_code(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt(b"  "), "empty body");
        let long = "x".repeat(MAX_DETAIL_CHARS + 50);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(e.ends_with('…'));
    }
}
