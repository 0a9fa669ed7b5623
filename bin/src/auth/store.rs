//! [`AuthStore`]: credentials from `auth.json` or `--bearer`, and the single-flight refresh.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::file::{self, FileError, FileLogin, FileTokens, TokenUpdate};
use super::refresh::{RefreshClient, DEFAULT_REFRESH_URL, REFRESH_URL_ENV};
use super::{AuthError, AuthSource, Credentials};

/// An access token whose `exp` is this close (or past) is refreshed before it is handed out.
pub const PROACTIVE_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// After a refresh, no proactive refresh happens for this long, even if the new token already
/// looks expired: a local clock running ahead must not turn every request into a refresh.
const PROACTIVE_COOLDOWN: Duration = Duration::from_secs(300);

type WriteFn = fn(&Path, &Map<String, Value>) -> Result<(), FileError>;

/// Hands out upstream credentials and refreshes them after a 401. Cheap to clone (one `Arc`);
/// all clones share the cache and the refresh lock.
#[derive(Clone, Debug)]
pub struct AuthStore {
    mode: Mode,
}

#[derive(Clone, Debug)]
enum Mode {
    Bearer(Credentials),
    File(Arc<FileAuth>),
}

#[derive(Debug)]
struct FileAuth {
    path: PathBuf,
    account_override: Option<String>,
    refresher: RefreshClient,
    write: WriteFn,
    /// Completed refreshes; stamped on credentials as [`Credentials::generation`].
    generation: AtomicU64,
    /// Started refresh calls; lets a waiter tell whether a failure happened while it waited.
    attempts: AtomicU64,
    last_refresh: Mutex<Option<Instant>>,
    cache: Mutex<Option<Cached>>,
    overlay: Mutex<Option<Overlay>>,
    flight: Arc<tokio::sync::Mutex<Flight>>,
}

/// Credentials parsed from the file at a given (modification time, length).
#[derive(Debug)]
struct Cached {
    key: (Option<SystemTime>, u64),
    creds: Credentials,
}

/// Tokens from a refresh whose write-back failed: used while the file still shows the access
/// token they replaced.
#[derive(Debug)]
struct Overlay {
    replaced_access_token: String,
    tokens: FileTokens,
}

/// State guarded by the refresh lock.
#[derive(Debug, Default)]
struct Flight {
    /// The last failed refresh: (attempt number, the access token it tried to replace, error).
    last_failure: Option<(u64, String, AuthError)>,
    /// A refresh token the endpoint rejected permanently, with that error.
    dead_refresh_token: Option<(String, AuthError)>,
}

/// The file as read: the document, the tokens in effect, and the file's own access token.
struct Snapshot {
    doc: Map<String, Value>,
    tokens: FileTokens,
    file_access_token: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl AuthStore {
    /// Builds a store from `source`, reading `CODEX_HOME`, `HOME` and
    /// `CODEX_REFRESH_TOKEN_URL_OVERRIDE` from the process environment. `http` is used for the
    /// refresh call (share the upstream client). Nothing is read from disk yet.
    ///
    /// # Errors
    /// [`AuthError::EmptyBearer`] / [`AuthError::InvalidHeaderValue`] for an unusable `--bearer`
    /// or `--account-id`; [`AuthError::NoHomeDir`] when no `auth.json` location can be found.
    pub fn new(source: AuthSource, http: reqwest::Client) -> Result<Self, AuthError> {
        Self::with_env(source, http, &|name| std::env::var(name).ok())
    }

    /// As [`AuthStore::new`], with environment variables looked up through `env`.
    ///
    /// # Errors
    /// As [`AuthStore::new`].
    pub fn with_env(
        source: AuthSource,
        http: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AuthError> {
        let account_override = source
            .account_id
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        if let Some(bearer) = source.bearer {
            let token = strip_bearer_prefix(&bearer);
            if token.is_empty() {
                return Err(AuthError::EmptyBearer);
            }
            let creds =
                Credentials::build(token.to_owned(), None, account_override, "--bearer", 0)?;
            return Ok(Self {
                mode: Mode::Bearer(creds),
            });
        }
        let path =
            file::resolve_path(source.auth_file.as_deref(), env).ok_or(AuthError::NoHomeDir)?;
        let url = source
            .refresh_url
            .filter(|u| !u.trim().is_empty())
            .or_else(|| env(REFRESH_URL_ENV).filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_REFRESH_URL.to_owned());
        Ok(Self {
            mode: Mode::File(Arc::new(FileAuth {
                path,
                account_override,
                refresher: RefreshClient::new(http, url),
                write: file::write_atomic,
                generation: AtomicU64::new(0),
                attempts: AtomicU64::new(0),
                last_refresh: Mutex::new(None),
                cache: Mutex::new(None),
                overlay: Mutex::new(None),
                flight: Arc::new(tokio::sync::Mutex::new(Flight::default())),
            })),
        })
    }

    /// The `auth.json` path in use, or `None` with `--bearer`.
    pub fn auth_path(&self) -> Option<&Path> {
        match &self.mode {
            Mode::Bearer(_) => None,
            Mode::File(f) => Some(&f.path),
        }
    }

    /// The token endpoint in use, or `None` with `--bearer`.
    pub fn refresh_url(&self) -> Option<&str> {
        match &self.mode {
            Mode::Bearer(_) => None,
            Mode::File(f) => Some(f.refresher.url()),
        }
    }

    /// Where credentials come from, for logs: `--bearer token` or `<path>`.
    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::Bearer(_) => "--bearer token".to_owned(),
            Mode::File(f) => f.path.display().to_string(),
        }
    }

    /// Credentials for the next upstream request. With a file: re-reads it if it changed since the
    /// last call, and refreshes first when the access token expires within
    /// [`PROACTIVE_REFRESH_MARGIN`] (a transient refresh failure then still returns the old token
    /// while it has not expired).
    ///
    /// # Errors
    /// [`AuthError::NotLoggedIn`], [`AuthError::ApiKeyOnly`], [`AuthError::NoTokens`],
    /// [`AuthError::Unreadable`], [`AuthError::Malformed`], [`AuthError::InvalidHeaderValue`];
    /// refresh errors as [`AuthStore::refresh_after_unauthorized`] when an expired token could not
    /// be refreshed.
    pub async fn credentials(&self) -> Result<Credentials, AuthError> {
        let f = match &self.mode {
            Mode::Bearer(creds) => return Ok(creds.clone()),
            Mode::File(f) => f,
        };
        let creds = f.current().await?;
        let now = unix_now();
        let margin = i64::try_from(PROACTIVE_REFRESH_MARGIN.as_secs()).unwrap_or(60);
        let cooling = lock(&f.last_refresh).is_some_and(|t| t.elapsed() < PROACTIVE_COOLDOWN);
        if cooling || !creds.is_expired_at(now.saturating_add(margin)) {
            return Ok(creds);
        }
        match f.refresh_after(&creds.access_token).await {
            Ok(new) => Ok(new),
            Err(e) if e.is_transient() && !creds.is_expired_at(now) => {
                tracing::warn!(error = %e, "proactive token refresh failed; using the current token until it expires");
                Ok(creds)
            }
            Err(e) => Err(e),
        }
    }

    /// Call after the upstream answered 401 to `rejected`. Re-reads the file first: if its access
    /// token differs from the rejected one (another process or task refreshed), returns it without
    /// a refresh call. Otherwise refreshes once, writes `auth.json` back atomically and returns
    /// the new credentials. Concurrent callers with the same rejected token share one refresh
    /// call; if it fails, callers that were waiting on it get the same error. Retry the request
    /// once with the result; a second 401 is final.
    ///
    /// # Errors
    /// [`AuthError::BearerRejected`] with `--bearer`; [`AuthError::NoRefreshToken`];
    /// [`AuthError::ReloginRequired`] when the refresh token is expired, reused or revoked;
    /// [`AuthError::RefreshUnavailable`] / [`AuthError::RefreshFailed`] /
    /// [`AuthError::RefreshResponseInvalid`] / [`AuthError::RefreshAborted`] for transient
    /// failures; the file errors of [`AuthStore::credentials`].
    pub async fn refresh_after_unauthorized(
        &self,
        rejected: &Credentials,
    ) -> Result<Credentials, AuthError> {
        match &self.mode {
            Mode::Bearer(_) => Err(AuthError::BearerRejected),
            Mode::File(f) => f.refresh_after(&rejected.access_token).await,
        }
    }

    /// The credentials in effect now, never refreshing (the account pool decides when to
    /// refresh when several processes share a login). `--bearer` returns its token.
    ///
    /// # Errors
    /// The file errors of [`AuthStore::credentials`].
    pub async fn cached_credentials(&self) -> Result<Credentials, AuthError> {
        match &self.mode {
            Mode::Bearer(creds) => Ok(creds.clone()),
            Mode::File(f) => f.current().await,
        }
    }

    /// `true` when [`AuthStore::credentials`] would refresh `creds` before handing them out: the
    /// access token expires within [`PROACTIVE_REFRESH_MARGIN`] and this store has not refreshed
    /// in the last 5 minutes. Always `false` with `--bearer`.
    pub fn wants_proactive_refresh(&self, creds: &Credentials) -> bool {
        let Mode::File(f) = &self.mode else {
            return false;
        };
        let margin = i64::try_from(PROACTIVE_REFRESH_MARGIN.as_secs()).unwrap_or(60);
        let cooling = lock(&f.last_refresh).is_some_and(|t| t.elapsed() < PROACTIVE_COOLDOWN);
        !cooling && creds.is_expired_at(unix_now().saturating_add(margin))
    }

    /// The tokens in effect (the file, or the in-memory copy of a refresh whose write-back
    /// failed), for publishing to other processes. `None` with `--bearer`.
    ///
    /// # Errors
    /// The file errors of [`AuthStore::credentials`].
    pub async fn file_tokens(&self) -> Result<Option<FileTokens>, AuthError> {
        match &self.mode {
            Mode::Bearer(_) => Ok(None),
            Mode::File(f) => Ok(Some(f.snapshot().await?.tokens)),
        }
    }

    /// Takes over tokens another process refreshed: writes them into `auth.json` (atomically,
    /// as after a refresh of our own) unless the file already holds that access token, and
    /// returns the credentials they give. With `--bearer` returns the bearer credentials.
    ///
    /// # Errors
    /// The file errors of [`AuthStore::credentials`]; [`AuthError::InvalidHeaderValue`].
    pub async fn adopt(
        &self,
        access_token: &str,
        refresh_token: Option<&str>,
        id_token: Option<&str>,
    ) -> Result<Credentials, AuthError> {
        let f = match &self.mode {
            Mode::Bearer(creds) => return Ok(creds.clone()),
            Mode::File(f) => f,
        };
        let snap = f.snapshot().await?;
        if snap.tokens.access_token == access_token {
            return f.credentials_from(&snap.tokens);
        }
        let old = snap.tokens;
        let tokens = FileTokens {
            access_token: access_token.to_owned(),
            refresh_token: refresh_token.map(str::to_owned).or(old.refresh_token),
            id_token: id_token.map(str::to_owned).or(old.id_token),
            account_id: old.account_id,
        };
        f.persist(snap.doc, &snap.file_access_token, &tokens).await;
        tracing::info!(path = %f.path.display(), "took over the tokens another process refreshed");
        f.credentials_from(&tokens)
    }

    /// Adds the auth headers of `creds` to `req`; see [`Credentials::header_pairs`].
    pub fn apply_headers(
        &self,
        creds: &Credentials,
        req: reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        creds.apply(req)
    }

    /// Replaces the function that writes `auth.json` back (tests simulate a failing disk).
    #[cfg(test)]
    pub(crate) fn set_writer_for_test(&mut self, write: WriteFn) {
        if let Mode::File(f) = &mut self.mode {
            if let Some(f) = Arc::get_mut(f) {
                f.write = write;
            }
        }
    }
}

/// Trims `raw` and strips a leading `Bearer` scheme word (any case) followed by whitespace or
/// nothing.
fn strip_bearer_prefix(raw: &str) -> &str {
    let t = raw.trim();
    match t.get(..6) {
        Some(scheme)
            if scheme.eq_ignore_ascii_case("bearer")
                && t[6..].chars().next().is_none_or(char::is_whitespace) =>
        {
            t[6..].trim()
        }
        _ => t,
    }
}

impl FileAuth {
    fn file_error(&self, e: FileError) -> AuthError {
        let path = self.path.clone();
        match e {
            FileError::NotFound => AuthError::NotLoggedIn { path },
            FileError::NotJson(detail) | FileError::BadShape(detail) => {
                AuthError::Malformed { path, detail }
            }
            FileError::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound => {
                AuthError::NotLoggedIn { path }
            }
            other => AuthError::Unreadable {
                path,
                source: Arc::new(other),
            },
        }
    }

    /// Reads the file now, with the in-memory overlay applied.
    async fn snapshot(&self) -> Result<Snapshot, AuthError> {
        let bytes = file::read_bounded(&self.path)
            .await
            .map_err(|e| self.file_error(e))?;
        let (doc, login) = file::parse(&bytes).map_err(|e| self.file_error(e))?;
        let tokens = match login {
            FileLogin::ChatGpt(t) => t,
            FileLogin::ApiKeyOnly => {
                return Err(AuthError::ApiKeyOnly {
                    path: self.path.clone(),
                })
            }
            FileLogin::Empty => {
                return Err(AuthError::NoTokens {
                    path: self.path.clone(),
                })
            }
        };
        let file_access_token = tokens.access_token.clone();
        let mut overlay = lock(&self.overlay);
        let tokens = match overlay.as_ref() {
            Some(o) if o.replaced_access_token == file_access_token => o.tokens.clone(),
            Some(_) => {
                // The file moved on (another process refreshed): it is authoritative again.
                *overlay = None;
                tokens
            }
            None => tokens,
        };
        Ok(Snapshot {
            doc,
            tokens,
            file_access_token,
        })
    }

    fn credentials_from(&self, tokens: &FileTokens) -> Result<Credentials, AuthError> {
        Credentials::build(
            tokens.access_token.clone(),
            tokens.id_token.as_deref(),
            self.account_override
                .clone()
                .or_else(|| tokens.account_id.clone()),
            &self.path.display().to_string(),
            self.generation.load(Ordering::SeqCst),
        )
    }

    /// Current credentials, re-parsing the file only when its modification time or length changed.
    async fn current(&self) -> Result<Credentials, AuthError> {
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| self.file_error(FileError::Io(e)))?;
        let key = (meta.modified().ok(), meta.len());
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(c) = lock(&self.cache).as_ref() {
            if c.key == key && c.creds.generation == generation {
                return Ok(c.creds.clone());
            }
        }
        let snap = self.snapshot().await?;
        let creds = self.credentials_from(&snap.tokens)?;
        *lock(&self.cache) = Some(Cached {
            key,
            creds: creds.clone(),
        });
        Ok(creds)
    }

    /// Takes the refresh lock, then runs the refresh in its own task so that dropping the caller
    /// cannot cancel a refresh between the endpoint rotating the token and the write-back.
    async fn refresh_after(self: &Arc<Self>, rejected: &str) -> Result<Credentials, AuthError> {
        let seen_attempts = self.attempts.load(Ordering::SeqCst);
        let guard = Arc::clone(&self.flight).lock_owned().await;
        let this = Arc::clone(self);
        let rejected = rejected.to_owned();
        tokio::spawn(async move { this.refresh_locked(guard, rejected, seen_attempts).await })
            .await
            .map_err(|e| AuthError::RefreshAborted(e.to_string()))?
    }

    async fn refresh_locked(
        &self,
        mut flight: tokio::sync::OwnedMutexGuard<Flight>,
        rejected: String,
        seen_attempts: u64,
    ) -> Result<Credentials, AuthError> {
        // Step 1: another process (or a task that held the lock before us) already refreshed.
        let snap = self.snapshot().await?;
        if snap.tokens.access_token != rejected {
            return self.credentials_from(&snap.tokens);
        }
        // A refresh for this same token failed while we were waiting: share its outcome.
        if let Some((attempt, token, error)) = &flight.last_failure {
            if *attempt > seen_attempts && *token == rejected {
                return Err(error.clone());
            }
        }
        let Some(refresh_token) = snap.tokens.refresh_token.clone() else {
            return Err(AuthError::NoRefreshToken {
                path: self.path.clone(),
            });
        };
        if let Some((dead, error)) = &flight.dead_refresh_token {
            if *dead == refresh_token {
                return Err(error.clone());
            }
        }
        // Step 2: one refresh call.
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let refreshed = match self.refresher.refresh(&refresh_token, &self.path).await {
            Ok(r) => r,
            Err(e) => {
                if e.is_relogin_required() {
                    flight.dead_refresh_token = Some((refresh_token, e.clone()));
                }
                flight.last_failure = Some((attempt, rejected, e.clone()));
                return Err(e);
            }
        };
        flight.last_failure = None;
        let nonempty = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
        let new_access = nonempty(refreshed.access_token);
        let got_access = new_access.is_some();
        let old = snap.tokens;
        let tokens = FileTokens {
            access_token: new_access.unwrap_or(old.access_token),
            refresh_token: nonempty(refreshed.refresh_token).or(old.refresh_token),
            id_token: nonempty(refreshed.id_token).or(old.id_token),
            account_id: old.account_id,
        };
        self.persist(snap.doc, &snap.file_access_token, &tokens)
            .await;
        if !got_access {
            return Err(AuthError::RefreshResponseInvalid {
                url: self.refresher.url().to_owned(),
                detail: "the response has no access_token".to_owned(),
            });
        }
        tracing::info!(path = %self.path.display(), "refreshed the ChatGPT access token");
        self.credentials_from(&tokens)
    }

    /// Writes `tokens` into the file; on failure keeps them in memory (the old refresh token is
    /// spent, so losing the new one would force a new login).
    async fn persist(
        &self,
        mut doc: Map<String, Value>,
        file_access_token: &str,
        tokens: &FileTokens,
    ) {
        file::apply_update(
            &mut doc,
            &TokenUpdate {
                access_token: Some(&tokens.access_token),
                refresh_token: tokens.refresh_token.as_deref(),
                id_token: tokens.id_token.as_deref(),
            },
            SystemTime::now(),
        );
        let (path, write) = (self.path.clone(), self.write);
        let written = tokio::task::spawn_blocking(move || write(&path, &doc)).await;
        let failure = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        *lock(&self.overlay) = failure.map(|error| {
            tracing::warn!(
                path = %self.path.display(),
                %error,
                "could not write the refreshed tokens back; keeping them in memory for this process"
            );
            Overlay {
                replaced_access_token: file_access_token.to_owned(),
                tokens: tokens.clone(),
            }
        });
        *lock(&self.last_refresh) = Some(Instant::now());
        self.generation.fetch_add(1, Ordering::SeqCst);
        *lock(&self.cache) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::strip_bearer_prefix;

    #[test]
    fn strips_only_a_whole_bearer_scheme_word() {
        assert_eq!(strip_bearer_prefix(" Bearer abc "), "abc");
        assert_eq!(strip_bearer_prefix("BEARER\tabc"), "abc");
        assert_eq!(strip_bearer_prefix("bearer"), "");
        assert_eq!(strip_bearer_prefix("Bearerabc"), "Bearerabc");
        assert_eq!(strip_bearer_prefix("abc"), "abc");
        assert_eq!(strip_bearer_prefix("Bé"), "Bé");
    }
}
