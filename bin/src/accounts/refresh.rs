//! Refreshing one account's login after a 401 (or before expiry), once per account however many
//! requests and processes meet the rejected token.
//!
//! ```text
//! in this process: refresh_gate (tokio mutex per account) ─► the token changed meanwhile? ─► use it
//! without Redis:   AuthStore::refresh_after_unauthorized (re-reads auth.json, one refresh call)
//! with Redis:      loop until REFRESH_WAIT:
//!                    login:{a} holds another access token? ─► adopt it (written to auth.json)
//!                    SET refresh-lock:{a} <uuid> NX PX 30000 ─► won: check login:{a} again, refresh,
//!                                                               publish login:{a}, compare-and-delete
//!                                                       └──► lost: sleep LOCK_POLL, loop
//!                    Redis fails ─► refresh locally (the fallback)
//! ```
//!
//! Refresh tokens are single use (protocols.md §2.3): two processes refreshing the same login
//! would leave one with `refresh_token_reused`; the lock and the published tokens prevent it.

use std::time::{Duration, Instant};

use super::pool::AccountPool;
use super::redis_store::SharedTokens;
use super::Lease;
use crate::auth::{AuthError, Credentials};
use crate::metrics;

/// How long the shared refresh lock is held at most (a crashed holder frees it after this).
pub const LOCK_TTL: Duration = Duration::from_secs(30);

/// Pause between two looks at a lock another process holds.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// Longest wait for another process's refresh; past it, this process gives up with
/// [`AuthError::RefreshAborted`].
const REFRESH_WAIT: Duration = Duration::from_secs(40);

impl AccountPool {
    /// Call after the upstream answered 401 to `rejected` on `lease` (or when `rejected` is
    /// about to expire). Returns credentials with another access token: one refreshed now, or
    /// one another task or process refreshed meanwhile.
    ///
    /// # Errors
    /// As [`crate::auth::AuthStore::refresh_after_unauthorized`];
    /// [`AuthError::RefreshAborted`] when another process held the lock for longer than 40 s.
    pub async fn refresh(
        &self,
        lease: &Lease,
        rejected: &Credentials,
    ) -> Result<Credentials, AuthError> {
        let a = &self.inner.accounts[lease.index];
        let _gate = a.refresh_gate.lock().await;
        let current = a.auth.cached_credentials().await?;
        if current.access_token != rejected.access_token {
            return Ok(current);
        }
        let shared = &self.inner.shared;
        let result = if shared.is_configured() {
            self.refresh_shared(lease, rejected).await
        } else {
            a.auth.refresh_after_unauthorized(rejected).await
        };
        metrics::record_refresh(&lease.name, result.is_ok());
        result
    }

    async fn refresh_shared(
        &self,
        lease: &Lease,
        rejected: &Credentials,
    ) -> Result<Credentials, AuthError> {
        let a = &self.inner.accounts[lease.index];
        let shared = &self.inner.shared;
        let name = &*lease.name;
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let deadline = Instant::now() + REFRESH_WAIT;
        loop {
            let Some(published) = shared.call(|r| r.login(name)).await else {
                return a.auth.refresh_after_unauthorized(rejected).await;
            };
            if let Some(t) = published.filter(|t| t.access_token != rejected.access_token) {
                return adopt(a, &t).await;
            }
            let Some(won) = shared.call(|r| r.try_lock(name, &owner, LOCK_TTL)).await else {
                return a.auth.refresh_after_unauthorized(rejected).await;
            };
            if won {
                let result = self.refresh_holding_lock(lease, rejected).await;
                let released = shared.call(|r| r.unlock(name, &owner)).await;
                if released == Some(false) {
                    tracing::warn!(
                        account = name,
                        "the refresh lock had expired before the refresh finished"
                    );
                }
                return result;
            }
            if Instant::now() >= deadline {
                return Err(AuthError::RefreshAborted(format!(
                    "another process held the refresh lock of account {name} for more than {} s",
                    REFRESH_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    async fn refresh_holding_lock(
        &self,
        lease: &Lease,
        rejected: &Credentials,
    ) -> Result<Credentials, AuthError> {
        let a = &self.inner.accounts[lease.index];
        let shared = &self.inner.shared;
        let name = &*lease.name;
        // The previous holder may have published between our look and our lock.
        if let Some(Some(t)) = shared.call(|r| r.login(name)).await {
            if t.access_token != rejected.access_token {
                return adopt(a, &t).await;
            }
        }
        let creds = a.auth.refresh_after_unauthorized(rejected).await?;
        if let Some(tokens) = a.auth.file_tokens().await? {
            let tokens = SharedTokens::from(&tokens);
            if shared.call(|r| r.set_login(name, &tokens)).await.is_none() {
                tracing::warn!(
                    account = name,
                    "could not publish the refreshed tokens to Redis; other processes will refresh again"
                );
            }
        }
        Ok(creds)
    }
}

async fn adopt(a: &super::pool::Account, t: &SharedTokens) -> Result<Credentials, AuthError> {
    a.auth
        .adopt(
            &t.access_token,
            t.refresh_token.as_deref(),
            t.id_token.as_deref(),
        )
        .await
}
