//! Simulated OAuth token endpoint and access-token checks (protocols.md §2.3, §8).
//!
//! A test double of `https://auth.openai.com/oauth/token`, never a fallback for the real one:
//!
//! * `POST /oauth/token` with `{"client_id","grant_type":"refresh_token","refresh_token"}` as JSON
//!   or `application/x-www-form-urlencoded` issues a new access token, id token and refresh token.
//!   Refresh tokens rotate and are single use: the old one is retired, and presenting a retired one
//!   answers `401 {"error":{"code":"refresh_token_reused",…}}`, as the real endpoint does when two
//!   clients race.
//! * Access tokens are JWT-shaped (`header.payload.signature`, unsigned) with `exp` and the
//!   `https://api.openai.com/auth`.`chatgpt_account_id` claim, so the client's claim parsing runs
//!   on them. [`SimAuth::check_request`] is what the simulated `/codex/responses` and
//!   `/transcribe` handlers call to require `Authorization: Bearer <valid>` and a matching
//!   `ChatGPT-Account-Id`.
//! * Several logins: [`SimAuth::add_account`] adds another account with its own tokens, so an
//!   account pool can be tested. [`SimAuth::set_refusal`] makes one account answer like the real
//!   backend does for a spent limit (429 `usage_limit_reached`), a ban (403 JSON) or a Cloudflare
//!   challenge (403 HTML); per-account counters tell which account served and refreshed.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::file::{self, FileError};
use crate::auth::jwt::{self, AUTH_CLAIM, PROFILE_CLAIM};
use crate::auth::CLIENT_ID;

use self::refusal::refusal_response;
pub use self::refusal::SimRefusal;

/// Route of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";

/// Account id of the simulated login.
pub const SIM_ACCOUNT_ID: &str = "00000000-0000-4000-8000-00000000c0de";

/// Lifetime written into the `exp` claim of issued access tokens.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Most access tokens valid at once; older ones stop being accepted (bounded memory).
const MAX_VALID_ACCESS_TOKENS: usize = 16;

/// Most retired refresh tokens remembered for `refresh_token_reused` answers.
const MAX_RETIRED_REFRESH_TOKENS: usize = 256;

/// Largest token request body read, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The simulated logins: valid access tokens, the current refresh token and counters per
/// account. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct SimAuth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The first account's id ([`SimAuth::account_id`]).
    account_id: String,
    refresh_calls: AtomicUsize,
    /// Every account; the first is `account_id`.
    logins: Mutex<Vec<Login>>,
}

/// One simulated account.
#[derive(Debug, Default)]
struct Login {
    account_id: String,
    email: String,
    state: TokenState,
    /// Token-endpoint calls that presented one of this account's refresh tokens.
    refresh_calls: usize,
    /// Requests that passed [`SimAuth::check_request`] with this account.
    accepted: usize,
    refusal: Option<SimRefusal>,
}

#[derive(Debug, Default)]
struct TokenState {
    access_tokens: VecDeque<String>,
    refresh_token: Option<String>,
    retired_refresh_tokens: VecDeque<String>,
}

/// A set of freshly issued tokens.
struct Issued {
    access_token: String,
    id_token: String,
    refresh_token: String,
}

/// Why [`SimAuth::check_request`] refused a request. As a response: 401
/// `{"detail":"Unauthorized"}` for token problems (protocols.md §1.10), 403 `{"detail":…}` for a
/// missing or wrong account id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimAuthRejection {
    /// No `Authorization: Bearer …` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The bearer token is unknown or expired.
    #[error("invalid or expired access token")]
    InvalidToken,
    /// No `ChatGPT-Account-Id` header.
    #[error("missing ChatGPT-Account-Id header")]
    MissingAccount,
    /// `ChatGPT-Account-Id` is not the simulated account.
    #[error("ChatGPT-Account-Id does not match the token's account")]
    AccountMismatch,
    /// The account is refused by [`SimAuth::set_refusal`].
    #[error("the account is refused: {0:?}")]
    Refused(SimRefusal),
}

impl SimAuthRejection {
    /// The HTTP status this rejection answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::MissingAccount | Self::AccountMismatch => StatusCode::FORBIDDEN,
            Self::Refused(SimRefusal::UsageLimit { .. }) => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused(SimRefusal::StreamedLimit { .. }) => StatusCode::OK,
            Self::Refused(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for SimAuthRejection {
    fn into_response(self) -> Response {
        if let Self::Refused(refusal) = self {
            return refusal_response(refusal);
        }
        let detail = match self {
            Self::MissingToken | Self::InvalidToken => "Unauthorized".to_owned(),
            other => other.to_string(),
        };
        (self.status(), Json(json!({ "detail": detail }))).into_response()
    }
}

impl Default for SimAuth {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn push_bounded(q: &mut VecDeque<String>, item: String, max: usize) {
    if q.len() == max {
        q.pop_front();
    }
    q.push_back(item);
}

impl SimAuth {
    /// A simulated login for [`SIM_ACCOUNT_ID`] with no tokens issued yet.
    pub fn new() -> Self {
        Self::with_account_id(SIM_ACCOUNT_ID)
    }

    /// A simulated login for `account_id`.
    pub fn with_account_id(account_id: impl Into<String>) -> Self {
        let account_id = account_id.into();
        let first = Login {
            account_id: account_id.clone(),
            email: "sim@codex-pipe.invalid".to_owned(),
            ..Login::default()
        };
        Self {
            inner: Arc::new(Inner {
                account_id,
                refresh_calls: AtomicUsize::new(0),
                logins: Mutex::new(vec![first]),
            }),
        }
    }

    /// The account id the first login's tokens carry.
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// Adds another account (`email` goes into its id token). Adding an id twice does nothing.
    pub fn add_account(&self, account_id: &str, email: &str) {
        let mut logins = lock(&self.inner.logins);
        if !logins.iter().any(|l| l.account_id == account_id) {
            logins.push(Login {
                account_id: account_id.to_owned(),
                email: email.to_owned(),
                ..Login::default()
            });
        }
    }

    /// Simulates `codex login`: issues an access token and a new refresh token (retiring the
    /// previous refresh token) and returns them as an `auth.json` document:
    /// `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token","access_token",
    /// "refresh_token","account_id"},"last_refresh":"<RFC 3339>"}`.
    pub fn issue_initial(&self) -> Value {
        Value::Object(self.initial_doc(0))
    }

    /// [`SimAuth::issue_initial`], written atomically (mode 0600) to `path`. Blocking.
    ///
    /// # Errors
    /// [`FileError::Io`] when the file cannot be written.
    pub fn write_initial_auth_json(&self, path: &Path) -> Result<(), FileError> {
        file::write_atomic(path, &self.initial_doc(0))
    }

    /// As [`SimAuth::write_initial_auth_json`] for the account added as `account_id`.
    ///
    /// # Errors
    /// [`FileError::Io`] when the file cannot be written; [`FileError::BadShape`] for an
    /// account that was never added.
    pub fn write_account_auth_json(&self, account_id: &str, path: &Path) -> Result<(), FileError> {
        let index = self
            .index_of(account_id)
            .ok_or_else(|| FileError::BadShape(format!("no simulated account {account_id}")))?;
        file::write_atomic(path, &self.initial_doc(index))
    }

    fn index_of(&self, account_id: &str) -> Option<usize> {
        lock(&self.inner.logins)
            .iter()
            .position(|l| l.account_id == account_id)
    }

    fn initial_doc(&self, index: usize) -> Map<String, Value> {
        let (issued, account_id) = self.issue(index);
        let mut doc = Map::new();
        doc.insert("auth_mode".to_owned(), json!("chatgpt"));
        doc.insert("OPENAI_API_KEY".to_owned(), Value::Null);
        doc.insert(
            "tokens".to_owned(),
            json!({
                "id_token": issued.id_token,
                "access_token": issued.access_token,
                "refresh_token": issued.refresh_token,
                "account_id": account_id,
            }),
        );
        doc.insert(
            "last_refresh".to_owned(),
            json!(file::rfc3339_utc_millis(SystemTime::now())),
        );
        doc
    }

    /// Makes every access token issued so far (every account) invalid, so the next request gets
    /// a 401 and the client has to refresh. The refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        for login in lock(&self.inner.logins).iter_mut() {
            login.state.access_tokens.clear();
        }
    }

    /// As [`SimAuth::expire_access_tokens`] for one account only.
    pub fn expire_account_tokens(&self, account_id: &str) {
        for login in lock(&self.inner.logins).iter_mut() {
            if login.account_id == account_id {
                login.state.access_tokens.clear();
            }
        }
    }

    /// Makes `account_id` answer every authenticated request with `refusal` (`None` lifts it).
    pub fn set_refusal(&self, account_id: &str, refusal: Option<SimRefusal>) {
        for login in lock(&self.inner.logins).iter_mut() {
            if login.account_id == account_id {
                login.refusal = refusal;
            }
        }
    }

    /// `true` if `token` is an access token issued by this simulator and not expired.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        lock(&self.inner.logins)
            .iter()
            .any(|l| l.state.access_tokens.iter().any(|t| t == token))
    }

    /// The first account's current (unused) refresh token, if one was issued.
    pub fn current_refresh_token(&self) -> Option<String> {
        lock(&self.inner.logins)
            .first()
            .and_then(|l| l.state.refresh_token.clone())
    }

    /// Number of requests the token endpoint has received (successful or not).
    pub fn refresh_count(&self) -> usize {
        self.inner.refresh_calls.load(Ordering::SeqCst)
    }

    /// Token-endpoint requests that presented a refresh token (current or retired) of
    /// `account_id`.
    pub fn refresh_count_for(&self, account_id: &str) -> usize {
        lock(&self.inner.logins)
            .iter()
            .find(|l| l.account_id == account_id)
            .map_or(0, |l| l.refresh_calls)
    }

    /// Requests that passed [`SimAuth::check_request`] (valid token, matching account, not
    /// refused) for `account_id`.
    pub fn accepted_count(&self, account_id: &str) -> usize {
        lock(&self.inner.logins)
            .iter()
            .find(|l| l.account_id == account_id)
            .map_or(0, |l| l.accepted)
    }

    /// Checks the auth headers of a request to a simulated upstream endpoint:
    /// `Authorization: Bearer <valid access token>` (scheme case-insensitive) and
    /// `ChatGPT-Account-Id: <the token's account>` (header name case-insensitive), then the
    /// account's [`SimRefusal`], if any.
    ///
    /// # Errors
    /// The [`SimAuthRejection`] to answer with.
    pub fn check_request(&self, headers: &HeaderMap) -> Result<(), SimAuthRejection> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(SimAuthRejection::MissingToken)?;
        let mut logins = lock(&self.inner.logins);
        let login = logins
            .iter_mut()
            .find(|l| l.state.access_tokens.iter().any(|t| t == token))
            .ok_or(SimAuthRejection::InvalidToken)?;
        let account = headers
            .get(crate::auth::ACCOUNT_ID_HEADER)
            .ok_or(SimAuthRejection::MissingAccount)?;
        if account.as_bytes() != login.account_id.as_bytes() {
            return Err(SimAuthRejection::AccountMismatch);
        }
        if let Some(refusal) = login.refusal {
            return Err(SimAuthRejection::Refused(refusal));
        }
        login.accepted += 1;
        Ok(())
    }

    /// Router with `POST /oauth/token` (see the module docs).
    pub fn router(self) -> Router {
        router(self)
    }

    /// Issues new tokens for login `index`; returns them with the account id.
    fn issue(&self, index: usize) -> (Issued, String) {
        let mut logins = lock(&self.inner.logins);
        let Some(login) = logins.get_mut(index) else {
            return (
                Issued {
                    access_token: String::new(),
                    id_token: String::new(),
                    refresh_token: String::new(),
                },
                String::new(),
            );
        };
        let issued = issue_for(login);
        (issued, login.account_id.clone())
    }

    /// Rotates the login whose current refresh token is `presented`. The check and the
    /// retirement happen under one lock, so two concurrent uses of one token cannot both succeed.
    fn redeem(&self, presented: &str) -> Result<Issued, (StatusCode, &'static str, &'static str)> {
        let mut logins = lock(&self.inner.logins);
        if let Some(login) = logins
            .iter_mut()
            .find(|l| l.state.refresh_token.as_deref() == Some(presented))
        {
            login.refresh_calls += 1;
            login.state.refresh_token = None;
            push_bounded(
                &mut login.state.retired_refresh_tokens,
                presented.to_owned(),
                MAX_RETIRED_REFRESH_TOKENS,
            );
            return Ok(issue_for(login));
        }
        if let Some(login) = logins.iter_mut().find(|l| {
            l.state
                .retired_refresh_tokens
                .iter()
                .any(|t| t == presented)
        }) {
            login.refresh_calls += 1;
            return Err((
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "Your refresh token has already been used to generate a new access token. Please try signing in again.",
            ));
        }
        Err((
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Unknown refresh token.",
        ))
    }
}

/// Issues an access token, an id token and a new refresh token for `login` (retiring its
/// previous refresh token).
fn issue_for(login: &mut Login) -> Issued {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let auth_claim = json!({
        "chatgpt_account_id": login.account_id,
        "chatgpt_plan_type": "plus",
        "chatgpt_user_id": "user-sim",
        "user_id": "user-sim",
    });
    let access_token = jwt::encode_unsigned(
        &json!({
            "iss": "codex-pipe-sim",
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
            AUTH_CLAIM: auth_claim,
        }),
        b"codex-pipe-sim-unsigned",
    );
    let id_token = jwt::encode_unsigned(
        &json!({
            "iss": "codex-pipe-sim",
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
            "email": login.email,
            PROFILE_CLAIM: {"email": login.email},
            AUTH_CLAIM: auth_claim,
        }),
        b"codex-pipe-sim-unsigned",
    );
    let refresh_token = format!("rt_sim_{}", uuid::Uuid::new_v4().simple());
    let state = &mut login.state;
    push_bounded(
        &mut state.access_tokens,
        access_token.clone(),
        MAX_VALID_ACCESS_TOKENS,
    );
    if let Some(old) = state.refresh_token.replace(refresh_token.clone()) {
        push_bounded(
            &mut state.retired_refresh_tokens,
            old,
            MAX_RETIRED_REFRESH_TOKENS,
        );
    }
    Issued {
        access_token,
        id_token,
        refresh_token,
    }
}

/// Router with `POST /oauth/token` backed by `state`.
pub fn router(state: SimAuth) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token_endpoint))
        .with_state(state)
}

/// Body of a token request (JSON or form).
#[derive(Deserialize)]
struct TokenRequest {
    client_id: Option<String>,
    grant_type: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

async fn token_endpoint(State(sim): State<SimAuth>, req: Request) -> Response {
    sim.inner.refresh_calls.fetch_add(1, Ordering::SeqCst);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let parsed = if is_form {
        Form::<TokenRequest>::from_request(req, &())
            .await
            .map(|Form(r)| r)
            .map_err(|e| e.body_text())
    } else {
        match axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await {
            Ok(bytes) => serde_json::from_slice::<TokenRequest>(&bytes).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    let body = match parsed {
        Ok(b) => b,
        Err(detail) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("unreadable token request: {detail}"),
            )
        }
    };
    if body.grant_type.as_deref() != Some("refresh_token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be refresh_token",
        );
    }
    if body.client_id.as_deref() != Some(CLIENT_ID) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        );
    }
    let Some(presented) = body.refresh_token.filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    match sim.redeem(&presented) {
        Ok(issued) => Json(json!({
            "access_token": issued.access_token,
            "id_token": issued.id_token,
            "refresh_token": issued.refresh_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL.as_secs(),
        }))
        .into_response(),
        Err((status, code, message)) => oauth_error(status, code, message),
    }
}

mod refusal;
#[cfg(test)]
mod tests;
