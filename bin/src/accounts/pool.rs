//! [`AccountPool`]: the accounts, their state in this process, and selection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use super::quota::QuotaSnapshot;
use super::redis_store::RedisStore;
use super::shared::Shared;
use super::strategy::{pick, Candidate, Choice, Strategy};
use super::{unix_ms, AccountSpec, Lease, PoolError, DEFAULT_COOLDOWN, DEFAULT_STICKY_TTL};
use crate::auth::{AuthError, AuthStore, Credentials};
use crate::metrics;

/// Most conversations remembered in memory; past it, expired entries are dropped, then all.
const MAX_STICKY_ENTRIES: usize = 100_000;

/// Settings of a pool.
#[derive(Clone)]
pub struct PoolConfig {
    /// How requests are spread (`--strategy`, default sticky).
    pub strategy: Strategy,
    /// How long a conversation stays on its account without requests (default 1 h).
    pub sticky_ttl: Duration,
    /// The shared store (`--redis-url`), if any.
    pub redis: Option<RedisStore>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            strategy: Strategy::default(),
            sticky_ttl: DEFAULT_STICKY_TTL,
            redis: None,
        }
    }
}

/// One account's state in this process.
#[derive(Debug, Clone, Default)]
struct Status {
    cooldown_until_ms: u64,
    disabled: Option<String>,
    quota: Option<QuotaSnapshot>,
}

pub(super) struct Account {
    pub(super) name: Arc<str>,
    pub(super) auth: AuthStore,
    started: AtomicU64,
    status: Mutex<Status>,
    /// Serializes refreshes of this account in this process (see `refresh`).
    pub(super) refresh_gate: tokio::sync::Mutex<()>,
}

/// What `accounts list` and the metrics show of one account.
#[derive(Debug, Clone)]
pub struct AccountView {
    /// The account's name.
    pub name: String,
    /// Requests started through it by this process.
    pub requests: u64,
    /// Cooling down until this Unix time in milliseconds, if in the future.
    pub cooldown_until_ms: Option<u64>,
    /// Why it is disabled, if it is.
    pub disabled: Option<String>,
    /// The last quota snapshot.
    pub quota: Option<QuotaSnapshot>,
}

pub(super) struct Inner {
    pub(super) accounts: Vec<Account>,
    strategy: Strategy,
    sticky_ttl: Duration,
    pub(super) shared: Arc<Shared>,
    cursor: AtomicU64,
    sticky: Mutex<HashMap<String, (usize, Instant)>>,
}

/// Several logins and the policy for using them. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AccountPool {
    pub(super) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AccountPool {
    /// A pool of one login that behaves as that login alone did (see the module docs).
    pub fn single(auth: AuthStore) -> Self {
        Self::new(
            vec![(super::load::DEFAULT_ACCOUNT_NAME.to_owned(), auth)],
            PoolConfig::default(),
        )
    }

    /// A pool over `accounts` (name, login), in this order. An empty list is not a pool: the
    /// caller loads at least one account ([`super::load::specs`] always returns one).
    pub fn new(accounts: Vec<(String, AuthStore)>, config: PoolConfig) -> Self {
        let shared = match config.redis {
            Some(r) => Shared::redis(r),
            None => Shared::memory(),
        };
        let accounts = accounts
            .into_iter()
            .map(|(name, auth)| Account {
                name: name.into(),
                auth,
                started: AtomicU64::new(0),
                status: Mutex::new(Status::default()),
                refresh_gate: tokio::sync::Mutex::new(()),
            })
            .collect();
        let pool = AccountPool {
            inner: Arc::new(Inner {
                accounts,
                strategy: config.strategy,
                sticky_ttl: config.sticky_ttl,
                shared: Arc::new(shared),
                cursor: AtomicU64::new(0),
                sticky: Mutex::new(HashMap::new()),
            }),
        };
        for a in &pool.inner.accounts {
            metrics::record_account_state(&a.name, metrics::AccountState::Available);
        }
        pool
    }

    /// Builds the logins of `specs` over `http` and the pool.
    ///
    /// # Errors
    /// The first [`AuthError`] of [`crate::auth::AuthSource::build`].
    pub fn from_specs(
        specs: Vec<AccountSpec>,
        http: &reqwest::Client,
        config: PoolConfig,
    ) -> Result<Self, AuthError> {
        let accounts = specs
            .into_iter()
            .map(|s| Ok((s.name, s.source.build(http.clone())?)))
            .collect::<Result<Vec<_>, AuthError>>()?;
        Ok(Self::new(accounts, config))
    }

    /// Clears the shared disable marks of this pool's accounts (a restart re-enables accounts,
    /// as documented). Does nothing without Redis.
    pub async fn reset_disabled(&self) {
        for a in &self.inner.accounts {
            let name = a.name.clone();
            self.inner
                .shared
                .call(|r| async move { r.set_disabled(&name, None).await })
                .await;
        }
    }

    /// Number of accounts (at least 1).
    pub fn len(&self) -> usize {
        self.inner.accounts.len()
    }

    /// `false`: a pool always has an account (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.inner.accounts.is_empty()
    }

    /// The strategy in use.
    pub fn strategy(&self) -> Strategy {
        self.inner.strategy
    }

    /// `true` when Redis is configured and answered its last call.
    pub fn shared_is_up(&self) -> bool {
        self.inner.shared.is_up()
    }

    /// The account names, in pool order.
    pub fn names(&self) -> Vec<Arc<str>> {
        self.inner.accounts.iter().map(|a| a.name.clone()).collect()
    }

    /// The position of the account named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.inner.accounts.iter().position(|a| &*a.name == name)
    }

    /// The login of the first account (what a one-login proxy used).
    pub fn primary_auth(&self) -> &AuthStore {
        &self.inner.accounts[0].auth
    }

    /// The login of account `index`, if it exists.
    pub fn auth(&self, index: usize) -> Option<&AuthStore> {
        self.inner.accounts.get(index).map(|a| &a.auth)
    }

    /// Chooses the account for the next attempt of a request. `conversation` is its
    /// `session_id` / prompt cache key (sticky strategy); `tried` the accounts already refused
    /// this request.
    ///
    /// # Errors
    /// [`PoolError::AllCoolingDown`] with the earliest reset, or [`PoolError::NoneUsable`]
    /// when every account is disabled or tried. Never with one account.
    pub async fn acquire(
        &self,
        conversation: Option<&str>,
        tried: &[usize],
    ) -> Result<Lease, PoolError> {
        let inner = &self.inner;
        if inner.accounts.len() == 1 {
            return Ok(self.lease(0, None));
        }
        let sticky_key =
            conversation.filter(|c| !c.is_empty() && inner.strategy == Strategy::Sticky);
        let names: Vec<&str> = inner.accounts.iter().map(|a| &*a.name).collect();
        let bump = inner.strategy == Strategy::RoundRobin;
        let view = inner
            .shared
            .call(|r| r.selection_view(&names, sticky_key, bump))
            .await;
        let now = unix_ms();
        let mut candidates = Vec::with_capacity(inner.accounts.len());
        for (i, a) in inner.accounts.iter().enumerate() {
            let mut st = lock(&a.status);
            if let Some(v) = &view {
                let shared_until = v.cooldowns.get(i).copied().flatten().unwrap_or(0);
                st.cooldown_until_ms = st.cooldown_until_ms.max(shared_until);
                // Redis is authoritative for disable marks: `accounts check` lifts them there.
                st.disabled = v.disabled.get(i).cloned().flatten();
            }
            candidates.push(Candidate {
                disabled: st.disabled.is_some(),
                cooldown_until_ms: st.cooldown_until_ms,
                used: view
                    .as_ref()
                    .and_then(|v| v.used.get(i).copied())
                    .unwrap_or_else(|| a.started.load(Ordering::Relaxed)),
                quota_used_percent: st.quota.and_then(|q| q.primary.used_percent),
                tried: tried.contains(&i),
            });
        }
        let sticky = sticky_key.and_then(|key| {
            let shared = view.as_ref().and_then(|v| v.sticky.as_deref());
            match shared {
                Some(name) => names.iter().position(|n| *n == name),
                None => self.local_sticky(key),
            }
        });
        let cursor = view
            .as_ref()
            .and_then(|v| v.cursor)
            .map(|c| c.saturating_sub(1))
            .unwrap_or_else(|| inner.cursor.fetch_add(1, Ordering::Relaxed));
        match pick(inner.strategy, &candidates, sticky, cursor, now) {
            Choice::Account(i) => Ok(self.lease(i, sticky_key)),
            Choice::AllCoolingDown { .. } | Choice::NoneUsable => {
                // Accounts this request already tried cool down too: the client waits for the
                // earliest of all.
                let earliest = candidates
                    .iter()
                    .filter(|c| !c.disabled && c.cooldown_until_ms > now)
                    .map(|c| c.cooldown_until_ms)
                    .min();
                match earliest {
                    Some(until_ms) => Err(cooling(until_ms, now)),
                    None => Err(PoolError::NoneUsable {
                        reasons: self.disabled_reasons(),
                    }),
                }
            }
        }
    }

    fn lease(&self, index: usize, sticky_key: Option<&str>) -> Lease {
        let inner = &self.inner;
        let a = &inner.accounts[index];
        a.started.fetch_add(1, Ordering::Relaxed);
        metrics::record_account_request(&a.name);
        {
            // A cooldown that has passed: the account is available again (gauge included).
            let mut st = lock(&a.status);
            if st.cooldown_until_ms != 0 && st.cooldown_until_ms <= super::unix_ms() {
                st.cooldown_until_ms = 0;
                if st.disabled.is_none() {
                    metrics::record_account_state(&a.name, metrics::AccountState::Available);
                }
            }
        }
        if let Some(key) = sticky_key {
            let mut map = lock(&inner.sticky);
            if map.len() >= MAX_STICKY_ENTRIES {
                let now = Instant::now();
                map.retain(|_, (_, until)| *until > now);
                if map.len() >= MAX_STICKY_ENTRIES {
                    map.clear();
                }
            }
            map.insert(key.to_owned(), (index, Instant::now() + inner.sticky_ttl));
        }
        if inner.shared.is_configured() && inner.accounts.len() > 1 {
            let name = a.name.clone();
            let sticky = sticky_key.map(|k| (k.to_owned(), inner.sticky_ttl));
            inner.shared.spawn(move |r| async move {
                let sticky = sticky.as_ref().map(|(k, ttl)| (k.as_str(), *ttl));
                r.record_selection(&name, sticky).await
            });
        }
        Lease {
            index,
            name: a.name.clone(),
        }
    }

    fn local_sticky(&self, key: &str) -> Option<usize> {
        let map = lock(&self.inner.sticky);
        map.get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(i, _)| *i)
    }

    fn disabled_reasons(&self) -> String {
        self.inner
            .accounts
            .iter()
            .filter_map(|a| {
                lock(&a.status)
                    .disabled
                    .as_ref()
                    .map(|r| format!("{}: {r}", a.name))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The credentials for an attempt on `lease`. Without Redis exactly
    /// [`AuthStore::credentials`]; with Redis a token about to expire is refreshed under the
    /// shared lock (see `refresh`), so processes never refresh the same login twice.
    ///
    /// # Errors
    /// As [`AuthStore::credentials`].
    pub async fn credentials(&self, lease: &Lease) -> Result<Credentials, AuthError> {
        let a = &self.inner.accounts[lease.index];
        if !self.inner.shared.is_configured() {
            return a.auth.credentials().await;
        }
        let creds = a.auth.cached_credentials().await?;
        if !a.auth.wants_proactive_refresh(&creds) {
            return Ok(creds);
        }
        let now = i64::try_from(unix_ms() / 1000).unwrap_or(i64::MAX);
        match self.refresh(lease, &creds).await {
            Ok(new) => Ok(new),
            Err(e) if e.is_transient() && !creds.is_expired_at(now) => {
                tracing::warn!(account = %lease.name, error = %e, "proactive token refresh failed; using the current token until it expires");
                Ok(creds)
            }
            Err(e) => Err(e),
        }
    }

    /// Records an error answer on `lease`: a 429 cools the account down ([`Self::rate_limited`]),
    /// a 403 disables it ([`Self::forbidden`], reason from `message`); other statuses change
    /// nothing. Returns `true` when the request should move to another account (counted in
    /// `codex_pipe_upstream_retries_total`).
    pub async fn refused(
        &self,
        lease: &Lease,
        status: u16,
        retry_after: Option<Duration>,
        resets_at: Option<u64>,
        message: &str,
    ) -> bool {
        let (moved, reason) = match status {
            429 => (
                self.rate_limited(lease, retry_after, resets_at).await,
                "rate_limited",
            ),
            403 => (
                self.forbidden(lease, &forbidden_reason(message)).await,
                "forbidden",
            ),
            _ => return false,
        };
        if moved {
            metrics::record_retry(reason);
            tracing::info!(account = %lease.name, status, "moving the request to another account");
        }
        moved
    }

    /// Records a 429 on `lease`: the account cools down for `retry_after` (else until
    /// `resets_at`, Unix seconds, else [`DEFAULT_COOLDOWN`]). Returns `true` when the request
    /// should move to another account (the pool has more than one).
    pub async fn rate_limited(
        &self,
        lease: &Lease,
        retry_after: Option<Duration>,
        resets_at: Option<u64>,
    ) -> bool {
        let now = unix_ms();
        let until_ms = match (retry_after, resets_at) {
            (Some(d), _) => now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            (None, Some(at)) => at.saturating_mul(1000).max(now),
            (None, None) => now + DEFAULT_COOLDOWN.as_millis() as u64,
        };
        let a = &self.inner.accounts[lease.index];
        {
            let mut st = lock(&a.status);
            st.cooldown_until_ms = st.cooldown_until_ms.max(until_ms);
        }
        tracing::warn!(account = %lease.name, cooldown_seconds = (until_ms - now) / 1000, "account hit its usage limit; cooling down until the reset");
        metrics::record_account_state(&a.name, metrics::AccountState::CoolingDown);
        metrics::record_account_cooldown(&a.name, until_ms);
        let name = a.name.clone();
        self.inner
            .shared
            .call(|r| async move { r.set_cooldown(&name, until_ms, now).await })
            .await;
        self.len() > 1
    }

    /// Records a 403 on `lease`: the account is disabled with `reason` (never refreshed).
    /// Returns `true` when the request should move to another account.
    pub async fn forbidden(&self, lease: &Lease, reason: &str) -> bool {
        let a = &self.inner.accounts[lease.index];
        lock(&a.status).disabled = Some(reason.to_owned());
        tracing::warn!(account = %lease.name, reason, "the backend refused the account (HTTP 403); disabled until `codex-pipe accounts check` or a restart");
        metrics::record_account_state(&a.name, metrics::AccountState::Disabled);
        let (name, reason) = (a.name.clone(), reason.to_owned());
        self.inner
            .shared
            .call(|r| async move { r.set_disabled(&name, Some(&reason)).await })
            .await;
        self.len() > 1
    }

    /// Lifts the disable mark of account `index` (here and in Redis), after a successful check.
    pub async fn enable(&self, index: usize) {
        let Some(a) = self.inner.accounts.get(index) else {
            return;
        };
        lock(&a.status).disabled = None;
        metrics::record_account_state(&a.name, metrics::AccountState::Available);
        let name = a.name.clone();
        self.inner
            .shared
            .call(|r| async move { r.set_disabled(&name, None).await })
            .await;
    }

    /// Takes the quota snapshot from an answer's `x-codex-*` headers (a few header look-ups;
    /// Redis is written only when the values changed, off the request path).
    pub fn observe(&self, lease: &Lease, headers: &HeaderMap) {
        let Some(snapshot) = QuotaSnapshot::from_headers(headers, unix_ms() / 1000) else {
            return;
        };
        let a = &self.inner.accounts[lease.index];
        let changed = {
            let mut st = lock(&a.status);
            let changed = !st.quota.is_some_and(|q| q.same_values(&snapshot));
            st.quota = Some(snapshot);
            changed
        };
        if changed {
            metrics::record_account_quota(&a.name, &snapshot);
            let name = a.name.clone();
            self.inner
                .shared
                .spawn(move |r| async move { r.set_quota(&name, &snapshot).await });
        }
    }

    /// Adds one finished request's token counts to the account's shared usage counters
    /// (`usage:{account}` in Redis, off the request path). Does nothing without Redis.
    pub fn add_usage(&self, account: &str, usage: &codex_pipe_protocols::Usage) {
        let Some(a) = self.inner.accounts.iter().find(|a| &*a.name == account) else {
            return;
        };
        let name = a.name.clone();
        let fields = [
            ("requests", 1),
            ("input", usage.input_tokens),
            ("cached", usage.cached_input_tokens),
            ("output", usage.output_tokens),
            ("reasoning", usage.reasoning_output_tokens),
        ];
        self.inner
            .shared
            .spawn(move |r| async move { r.add_usage(&name, &fields).await });
    }

    /// The state of every account, merged with Redis when it answers (quota snapshots and
    /// cooldowns another process recorded).
    pub async fn views(&self) -> Vec<AccountView> {
        let now = unix_ms();
        let names: Vec<&str> = self.inner.accounts.iter().map(|a| &*a.name).collect();
        let view = self
            .inner
            .shared
            .call(|r| r.selection_view(&names, None, false))
            .await;
        let mut out = Vec::with_capacity(names.len());
        for (i, a) in self.inner.accounts.iter().enumerate() {
            let mut st = lock(&a.status).clone();
            if let Some(v) = &view {
                let shared_until = v.cooldowns.get(i).copied().flatten().unwrap_or(0);
                st.cooldown_until_ms = st.cooldown_until_ms.max(shared_until);
                st.disabled = v.disabled.get(i).cloned().flatten().or(st.disabled);
            }
            if st.quota.is_none() {
                let name = a.name.clone();
                st.quota = self
                    .inner
                    .shared
                    .call(|r| async move { r.quota(&name).await })
                    .await
                    .flatten();
            }
            out.push(AccountView {
                name: a.name.to_string(),
                requests: a.started.load(Ordering::Relaxed),
                cooldown_until_ms: (st.cooldown_until_ms > now).then_some(st.cooldown_until_ms),
                disabled: st.disabled,
                quota: st.quota,
            });
        }
        out
    }
}

/// Why a 403 disables an account: a Cloudflare challenge page, or the backend's message.
pub fn forbidden_reason(message: &str) -> String {
    if message.contains("Just a moment")
        || message.contains("<html")
        || message.contains("<!DOCTYPE")
    {
        "Cloudflare challenge (HTTP 403)".to_owned()
    } else {
        format!(
            "HTTP 403: {}",
            message.chars().take(200).collect::<String>()
        )
    }
}

fn cooling(until_ms: u64, now: u64) -> PoolError {
    PoolError::AllCoolingDown {
        retry_after: Duration::from_millis(until_ms.saturating_sub(now)),
        resets_at: until_ms.div_ceil(1000),
    }
}
