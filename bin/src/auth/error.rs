//! [`AuthError`]: every way getting or refreshing credentials can fail, each with a message that
//! tells the user what to do next.

use std::path::PathBuf;
use std::sync::Arc;

use codex_pipe_protocols::{FailureKind, UpstreamFailure};

/// The advice appended when no usable ChatGPT login exists.
const LOGIN_ADVICE: &str =
    "run `codex login`, or pass --bearer <token>, or try the offline simulator with --backend sim";

/// Why credentials could not be produced or refreshed.
///
/// `Clone` so that one failed refresh can be reported to every caller that was waiting on it.
/// [`AuthError::is_relogin_required`] and [`AuthError::is_transient`] classify the variants for
/// callers that map them to HTTP statuses.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No home directory to look for `~/.codex/auth.json` in.
    #[error(
        "cannot locate auth.json: neither CODEX_HOME nor HOME is set; pass --auth-file <path>, or pass --bearer <token>"
    )]
    NoHomeDir,
    /// `auth.json` does not exist (also the case when the Codex CLI keeps its login in the OS
    /// keyring).
    #[error("no ChatGPT login found at {}: {LOGIN_ADVICE}", path.display())]
    NotLoggedIn {
        /// Where the file was expected.
        path: PathBuf,
    },
    /// `auth.json` holds only an OpenAI API key, which the ChatGPT backend does not accept.
    #[error(
        "{} holds only an OpenAI API key (OPENAI_API_KEY) and no ChatGPT tokens; the ChatGPT backend needs a ChatGPT login: run `codex login` and choose \"Sign in with ChatGPT\", or pass --bearer <token>",
        path.display()
    )]
    ApiKeyOnly {
        /// The file that was read.
        path: PathBuf,
    },
    /// `auth.json` exists but holds neither tokens nor an API key.
    #[error("{} has no ChatGPT tokens: {LOGIN_ADVICE}", path.display())]
    NoTokens {
        /// The file that was read.
        path: PathBuf,
    },
    /// `auth.json` could not be read (permissions, a directory in the way, too large, …).
    #[error("cannot read {}: {source}; check its permissions, or pass --auth-file <path>", path.display())]
    Unreadable {
        /// The file that was read.
        path: PathBuf,
        /// The underlying I/O or size error.
        #[source]
        source: Arc<super::file::FileError>,
    },
    /// `auth.json` is not valid JSON or has the wrong shape.
    #[error("{} is not a valid Codex auth.json ({detail}): run `codex login` to recreate it", path.display())]
    Malformed {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A token or account id contains bytes that cannot go into an HTTP header.
    #[error("the {what} from {origin} contains characters not allowed in an HTTP header (control characters or non-ASCII); {advice}")]
    InvalidHeaderValue {
        /// Which value (`access token`, `account id`).
        what: &'static str,
        /// Where it came from (a file path or `--bearer`).
        origin: String,
        /// What to do.
        advice: &'static str,
    },
    /// `--bearer` was given but is empty after trimming.
    #[error("--bearer is empty: pass the access token (with or without the \"Bearer \" prefix)")]
    EmptyBearer,
    /// The upstream rejected the `--bearer` token; a bearer token cannot be refreshed.
    #[error("the upstream rejected the --bearer token (HTTP 401) and a token passed with --bearer cannot be refreshed: pass a fresh token, or drop --bearer to use auth.json from `codex login`")]
    BearerRejected,
    /// The access token was rejected and the file has no refresh token to renew it with.
    #[error("the access token in {} was rejected and the file has no refresh token: run `codex login` again", path.display())]
    NoRefreshToken {
        /// The file that was read.
        path: PathBuf,
    },
    /// The refresh token is no longer valid (HTTP 401, or `refresh_token_expired` /
    /// `refresh_token_reused` / `refresh_token_invalidated`): only a new login helps.
    #[error("the ChatGPT login in {} has expired or was revoked ({reason}): run `codex login` again", path.display())]
    ReloginRequired {
        /// The file that holds the dead login.
        path: PathBuf,
        /// The error code or status the token endpoint gave, e.g. `refresh_token_reused`.
        reason: String,
    },
    /// The token endpoint could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach the token refresh endpoint {url}: {detail}; this is usually temporary, retry shortly (set CODEX_REFRESH_TOKEN_URL_OVERRIDE or --refresh-url only to point at a test server)")]
    RefreshUnavailable {
        /// The token endpoint URL.
        url: String,
        /// The transport error, with its causes.
        detail: String,
    },
    /// The token endpoint answered with an error that is not a permanent login failure
    /// (5xx, 429, other 4xx).
    #[error("token refresh at {url} failed with HTTP {status}: {detail}; retry shortly")]
    RefreshFailed {
        /// The token endpoint URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The error code / message from the body, shortened.
        detail: String,
    },
    /// The token endpoint answered 2xx with a body that carries no usable access token.
    #[error("token refresh at {url} returned an unusable response: {detail}")]
    RefreshResponseInvalid {
        /// The token endpoint URL.
        url: String,
        /// What is wrong with the body.
        detail: String,
    },
    /// The background refresh task ended without a result (it panicked or the runtime is shutting
    /// down).
    #[error("the token refresh task ended unexpectedly: {0}")]
    RefreshAborted(String),
}

impl AuthError {
    /// `true` when only a new login (or a new `--bearer` token) can fix this: retrying is useless.
    pub fn is_relogin_required(&self) -> bool {
        matches!(
            self,
            Self::ReloginRequired { .. } | Self::BearerRejected | Self::NoRefreshToken { .. }
        )
    }

    /// `true` when the same call may succeed later without user action (the token endpoint was
    /// unreachable or answered with a non-permanent error).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RefreshUnavailable { .. } | Self::RefreshFailed { .. } | Self::RefreshAborted(_)
        )
    }

    /// This error as the one upstream failure type, for a server's answer: a login that needs
    /// the operator (`codex login`) is [`FailureKind::LoginRequired`] (401,
    /// `upstream_login_required`); a token endpoint that cannot be reached, or an `auth.json`
    /// that cannot be read right now (an I/O error, e.g. no file descriptor left), is
    /// [`FailureKind::LoginUnavailable`] (503, `upstream_auth_unavailable`): retrying may work
    /// and logging in again would not help.
    pub fn failure(&self) -> UpstreamFailure {
        if self.is_transient() || matches!(self, Self::Unreadable { .. }) {
            return UpstreamFailure::new(
                FailureKind::LoginUnavailable,
                "upstream_auth_unavailable",
                format!("the proxy could not use its ChatGPT login right now: {self}"),
            );
        }
        UpstreamFailure::new(
            FailureKind::LoginRequired,
            "upstream_login_required",
            format!("{self} {SERVER_LOGIN_HINT}"),
        )
    }
}

/// Appended to a server's login failures so the operator knows where to act.
const SERVER_LOGIN_HINT: &str =
    "(this is the proxy's own ChatGPT login, not your API key: run `codex login` on the proxy host)";
