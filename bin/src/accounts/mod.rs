//! The account pool: several ChatGPT logins behind one proxy, and the state several proxy
//! processes share through Redis.
//!
//! ```text
//! request ─► AccountPool::acquire(conversation, tried) ─► Lease ─► credentials ─► upstream
//!               │ strategy::pick over cooldowns, 403s,          │ 429 ─► rate_limited (cooldown until the reset) ─► next account
//!               │ usage counters, the sticky map, the cursor    │ 403 ─► forbidden (disabled, never refreshed)    ─► next account
//!               ▼                                               │ 401 ─► refresh (single-flight per account; with Redis one process)
//!            Shared (Redis, else this process's memory)         └ 2xx ─► observe (quota snapshot from x-codex-*)
//! ```
//!
//! * **One login** (the default, `--auth-file` once or none) behaves exactly as before pools
//!   existed: the account is always tried, the upstream's own 429 / 403 goes to the client, a
//!   401 refreshes once through [`crate::auth::AuthStore`]. Its state is still recorded (for
//!   `accounts list` and metrics).
//! * **Several logins**: an account answering 429 cools down until its reset
//!   (`resets_in_seconds`, `resets_at`, `Retry-After`, else [`DEFAULT_COOLDOWN`]) and the request
//!   moves to another account before any byte reached the client; when every account cools down
//!   the caller gets [`PoolError::AllCoolingDown`] with the earliest reset. A 403 disables the
//!   account with its reason until a restart or `codex-pipe accounts check`, and the request
//!   moves on the same way.
//! * **Several processes** (`--redis-url`): see [`redis_store`] for the keys. Redis down → one
//!   log line and each process continues with its own memory ([`shared`]).

pub mod load;
mod pool;
pub mod quota;
pub mod redis_store;
mod refresh;
pub mod shared;
pub mod strategy;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use codex_pipe_protocols::canonical::FailureKind;
use codex_pipe_protocols::UpstreamFailure;

pub use self::load::{AccountSpec, LoadError};
pub use self::pool::{AccountPool, AccountView, PoolConfig};
pub use self::quota::QuotaSnapshot;
pub use self::redis_store::{RedisStore, RedisStoreError};
pub use self::strategy::Strategy;

/// Cooldown after a 429 that names no reset time.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(60);

/// Default time a conversation stays on its account without requests (`--sticky-ttl-seconds`).
pub const DEFAULT_STICKY_TTL: Duration = Duration::from_secs(3600);

/// The account chosen for one upstream attempt.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Position in the pool (the order of `--auth-file` flags, then `--accounts-dir` by name).
    pub index: usize,
    /// The account's name (its file name without `.json`, or `default`).
    pub name: Arc<str>,
}

/// Why no account could take a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// Every usable account is cooling down after a usage limit.
    #[error("every ChatGPT account is cooling down after a usage limit; the earliest resets in {} s", retry_after.as_secs())]
    AllCoolingDown {
        /// Until the earliest cooldown ends (whole milliseconds).
        retry_after: Duration,
        /// When it ends, Unix seconds.
        resets_at: u64,
    },
    /// Every account is disabled (a 403: banned, a Cloudflare challenge, plan without Codex).
    #[error("no ChatGPT account is usable: {reasons}; fix the accounts and run `codex-pipe accounts check`, or restart")]
    NoneUsable {
        /// `name: reason` for each account, `; `-separated.
        reasons: String,
    },
}

impl PoolError {
    /// The delay a client should wait (`Retry-After`), when one is known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PoolError::AllCoolingDown { retry_after, .. } => Some(*retry_after),
            PoolError::NoneUsable { .. } => None,
        }
    }

    /// The failure each protocol maps to its error body: `usage_limit_reached` (429 with
    /// `Retry-After`) when every account cools down, `usage_not_included`-like 403 otherwise.
    pub fn failure(&self) -> UpstreamFailure {
        match self {
            PoolError::AllCoolingDown {
                retry_after,
                resets_at,
            } => UpstreamFailure {
                kind: FailureKind::RateLimited,
                code: Some("usage_limit_reached".into()),
                error_type: Some("usage_limit_reached".into()),
                param: None,
                message: self.to_string().into(),
                retry_after: Some(*retry_after),
                resets_at: Some(*resets_at),
            },
            PoolError::NoneUsable { .. } => UpstreamFailure {
                kind: FailureKind::UsageNotIncluded,
                code: Some("no_usable_account".into()),
                error_type: None,
                param: None,
                message: self.to_string().into(),
                retry_after: None,
                resets_at: None,
            },
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
