//! ChatGPT credentials for the upstream: `auth.json` from `codex login` (or a `--bearer` token),
//! the request headers they produce, and the OAuth refresh after a 401 (protocols.md §1.2, §2).
//!
//! ```text
//! AuthSource (flags) ──AuthStore::new──► AuthStore ──credentials()──► Credentials ──apply()──► request
//!                                            ▲                                          │ 401
//!                                            └──── refresh_after_unauthorized(&rejected) ◄┘
//! ```
//!
//! * `auth.json` is re-read on every [`AuthStore::credentials`] call (cached by modification time
//!   and length), so a login refreshed by the Codex CLI or another codex-pipe takes effect at once.
//! * An access token whose JWT `exp` is within [`PROACTIVE_REFRESH_MARGIN`] is refreshed before
//!   use, so a streaming upload is not wasted on a token that is about to be rejected.
//! * After a 401, [`AuthStore::refresh_after_unauthorized`] first re-reads the file (another
//!   process may have refreshed already), then refreshes once. Refresh tokens are single use, so
//!   refreshes are serialized: any number of concurrent callers holding the same rejected token
//!   cause one call to the token endpoint and all receive the new token. The refresh runs in its
//!   own task so a caller that goes away mid-refresh cannot lose the rotated refresh token.
//! * The new tokens are written back atomically (mode 0600, unknown keys kept, `last_refresh` set).
//!   If that write fails they are kept in memory for this process and a warning is logged.

pub mod error;
pub mod file;
pub mod jwt;
pub mod refresh;
mod store;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

pub use error::AuthError;
pub use refresh::{CLIENT_ID, DEFAULT_REFRESH_URL, REFRESH_URL_ENV};
pub use store::{AuthStore, PROACTIVE_REFRESH_MARGIN};

/// `ChatGPT-Account-Id` (sent lower-case; header names are case-insensitive).
pub const ACCOUNT_ID_HEADER: HeaderName = HeaderName::from_static("chatgpt-account-id");

/// `X-OpenAI-Fedramp: true`, sent only when the JWT claim `chatgpt_account_is_fedramp` is true.
pub const FEDRAMP_HEADER: HeaderName = HeaderName::from_static("x-openai-fedramp");

/// Where credentials come from; filled from the binary's flags.
#[derive(Debug, Clone, Default)]
pub struct AuthSource {
    /// `--auth-file`: explicit `auth.json` path. Default `$CODEX_HOME/auth.json`, else
    /// `~/.codex/auth.json`.
    pub auth_file: Option<PathBuf>,
    /// `--bearer`: an access token to use as-is (the `Bearer ` prefix is optional). With it the
    /// file is never read, and a 401 is final because there is nothing to refresh.
    pub bearer: Option<String>,
    /// `--account-id`: overrides the account id from the file and the JWT claims.
    pub account_id: Option<String>,
    /// `--refresh-url`: the OAuth token endpoint. Default: the `CODEX_REFRESH_TOKEN_URL_OVERRIDE`
    /// environment variable, else [`DEFAULT_REFRESH_URL`].
    pub refresh_url: Option<String>,
}

impl AuthSource {
    /// Builds the store; see [`AuthStore::new`].
    ///
    /// # Errors
    /// As [`AuthStore::new`].
    pub fn build(self, http: reqwest::Client) -> Result<AuthStore, AuthError> {
        AuthStore::new(self, http)
    }
}

/// One set of credentials for an upstream request. Cheap to clone; `Debug` hides the token.
#[derive(Clone)]
pub struct Credentials {
    /// The access token sent as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// The ChatGPT account id sent as `ChatGPT-Account-Id`, when known: `--account-id`, else
    /// `tokens.account_id`, else the `chatgpt_account_id` claim of the id token, else of the
    /// access token.
    pub account_id: Option<String>,
    /// Access-token expiry from its JWT `exp` claim, seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// The `chatgpt_plan_type` claim (`free`, `plus`, `pro`, …), when present.
    pub plan_type: Option<String>,
    /// The `chatgpt_account_is_fedramp` claim.
    pub is_fedramp: bool,
    /// How many refreshes this store had completed when these credentials were read; a larger
    /// number means newer credentials. Always 0 for `--bearer`.
    pub generation: u64,
    authorization: HeaderValue,
    account_header: Option<HeaderValue>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .field("plan_type", &self.plan_type)
            .field("is_fedramp", &self.is_fedramp)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Credentials {
    /// Builds credentials from an access token and what is known about the account.
    /// `origin` (a path or `--bearer`) names the source in errors.
    ///
    /// # Errors
    /// [`AuthError::InvalidHeaderValue`] when the token or account id cannot be a header value.
    fn build(
        access_token: String,
        id_token: Option<&str>,
        account_id: Option<String>,
        origin: &str,
        generation: u64,
    ) -> Result<Self, AuthError> {
        let access = jwt::decode_claims(&access_token).ok();
        let id = id_token.and_then(|t| jwt::decode_claims(t).ok());
        let claim = |f: fn(&jwt::JwtClaims) -> Option<String>| {
            id.as_ref()
                .and_then(f)
                .or_else(|| access.as_ref().and_then(f))
        };
        let account_id = account_id.or_else(|| claim(|c| c.account_id.clone()));
        let invalid = |what| AuthError::InvalidHeaderValue {
            what,
            origin: origin.to_owned(),
            advice: "run `codex login` again, or pass clean values with --bearer / --account-id",
        };
        let mut authorization = HeaderValue::try_from(format!("Bearer {access_token}"))
            .map_err(|_| invalid("access token"))?;
        authorization.set_sensitive(true);
        let account_header = account_id
            .as_deref()
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| invalid("account id"))?;
        Ok(Self {
            expires_at: access.as_ref().and_then(|c| c.exp),
            plan_type: claim(|c| c.plan_type.clone()),
            is_fedramp: id.as_ref().is_some_and(|c| c.is_fedramp)
                || access.as_ref().is_some_and(|c| c.is_fedramp),
            access_token,
            account_id,
            generation,
            authorization,
            account_header,
        })
    }

    /// The auth headers for an upstream request: `Authorization: Bearer …` (marked sensitive),
    /// `ChatGPT-Account-Id` when the account is known, `X-OpenAI-Fedramp: true` for FedRAMP
    /// accounts.
    pub fn header_pairs(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        [
            Some((AUTHORIZATION, self.authorization.clone())),
            self.account_header.clone().map(|v| (ACCOUNT_ID_HEADER, v)),
            self.is_fedramp
                .then(|| (FEDRAMP_HEADER, HeaderValue::from_static("true"))),
        ]
        .into_iter()
        .flatten()
    }

    /// Adds [`Credentials::header_pairs`] to `req`.
    pub fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        self.header_pairs()
            .fold(req, |req, (name, value)| req.header(name, value))
    }

    /// `true` when the access token's `exp` is known and at or before `now_unix` (seconds since
    /// the Unix epoch).
    pub fn is_expired_at(&self, now_unix: i64) -> bool {
        self.expires_at.is_some_and(|exp| exp <= now_unix)
    }
}
