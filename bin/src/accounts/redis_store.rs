//! The Redis side of the shared account state (`--redis-url`; Valkey works too), through the
//! `redis` crate's tokio [`ConnectionManager`] (one multiplexed, reconnecting connection).
//!
//! Keys, all under a prefix (default `codex-pipe:`), `{a}` an account name:
//!
//! | key | type | written | meaning |
//! |---|---|---|---|
//! | `cooldown:{a}` | string, `PX` until the reset | on a 429 | cooling down until this Unix time (ms) |
//! | `disabled:{a}` | string | on a 403 | the reason; removed at start-up and by `accounts check` |
//! | `quota:{a}` | string (JSON) | when the `x-codex-*` values change | the last [`QuotaSnapshot`] |
//! | `used:{a}` | integer | `INCR` per request, off the request path | requests started (least-used) |
//! | `usage:{a}` | hash | `HINCRBY` per finished request, off the request path | `requests`, `input`, `cached`, `output`, `reasoning` tokens |
//! | `sticky:{conversation}` | string, `PX` the sticky TTL | per request with a conversation key, off the request path | the account the conversation is on |
//! | `rr` | integer | `INCR` per round-robin selection | the round-robin cursor |
//! | `login:{a}` | string (JSON) | after a refresh | the account's tokens, so other processes use what one refreshed |
//! | `refresh-lock:{a}` | string, `SET NX PX 30000` | around a refresh | a random owner id; released by a compare-and-delete script |
//!
//! Selection reads what it needs in one pipelined round trip per request; nothing touches Redis
//! per streamed event. Every call has a deadline ([`OP_TIMEOUT`]); a failure is returned to the
//! caller, which falls back to its in-memory state (see `super::shared`).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, RedisError};
use serde::{Deserialize, Serialize};

use super::quota::QuotaSnapshot;
use crate::auth::file::FileTokens;

/// Longest wait for one Redis call (or pipeline) before it counts as failed.
pub const OP_TIMEOUT: Duration = Duration::from_millis(750);

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "codex-pipe:";

/// Releases the refresh lock only when it still holds our owner id (a lock that expired and was
/// taken by another process is left alone).
const UNLOCK_SCRIPT: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// Why a Redis call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL.
    #[error("invalid --redis-url: {0}")]
    Url(#[source] RedisError),
    /// The server answered with an error or the connection failed.
    #[error("Redis: {0}")]
    Redis(#[from] RedisError),
    /// No answer within [`OP_TIMEOUT`].
    #[error("Redis did not answer within {} ms", OP_TIMEOUT.as_millis())]
    Timeout,
    /// A stored value is not what this program writes.
    #[error("Redis key {key} holds an unreadable value: {detail}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong.
        detail: String,
    },
}

/// The tokens of one account as published after a refresh (`login:{a}`).
#[derive(Clone, Serialize, Deserialize)]
pub struct SharedTokens {
    /// `tokens.access_token`.
    pub access_token: String,
    /// `tokens.refresh_token`.
    pub refresh_token: Option<String>,
    /// `tokens.id_token`.
    pub id_token: Option<String>,
}

impl std::fmt::Debug for SharedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTokens(<redacted>)")
    }
}

impl From<&FileTokens> for SharedTokens {
    fn from(t: &FileTokens) -> Self {
        SharedTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            id_token: t.id_token.clone(),
        }
    }
}

/// What selection reads in one round trip.
#[derive(Debug, Default)]
pub struct SelectionView {
    /// Per account (in pool order): cooling down until (Unix ms), if set.
    pub cooldowns: Vec<Option<u64>>,
    /// Per account: the disable reason, if set.
    pub disabled: Vec<Option<String>>,
    /// Per account: requests started.
    pub used: Vec<u64>,
    /// The account name the conversation is mapped to.
    pub sticky: Option<String>,
    /// The round-robin cursor after this request's increment.
    pub cursor: Option<u64>,
}

/// A connection to the shared store. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

async fn timed<T>(
    fut: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, RedisStoreError> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(r) => r.map_err(RedisStoreError::Redis),
        Err(_) => Err(RedisStoreError::Timeout),
    }
}

impl RedisStore {
    /// A store at `url` (`redis://[:password@]host:port/db` or `redis+unix:///path`; Valkey
    /// speaks the same protocol; TLS is not built in) with key `prefix`.
    /// Does not connect yet: the first call does, and a server that is down at start-up only
    /// makes calls fail until it comes up.
    ///
    /// # Errors
    /// [`RedisStoreError::Url`] for an unusable URL.
    pub fn open(url: &str, prefix: &str) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(url).map_err(RedisStoreError::Url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(RedisStoreError::Url)?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }

    /// `PING`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        let mut c = self.conn.clone();
        timed(redis::cmd("PING").query_async::<String>(&mut c)).await?;
        Ok(())
    }

    /// One pipelined read of what selection needs for `accounts`: cooldowns, disable reasons,
    /// usage counters, the conversation's sticky account (when `sticky` is given) and, with
    /// `bump_cursor`, the round-robin cursor incremented.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn selection_view(
        &self,
        accounts: &[&str],
        sticky: Option<&str>,
        bump_cursor: bool,
    ) -> Result<SelectionView, RedisStoreError> {
        let keys =
            |kind: &str| -> Vec<String> { accounts.iter().map(|a| self.key(kind, a)).collect() };
        let mut pipe = redis::pipe();
        pipe.cmd("MGET").arg(keys("cooldown"));
        pipe.cmd("MGET").arg(keys("disabled"));
        pipe.cmd("MGET").arg(keys("used"));
        pipe.cmd("GET")
            .arg(self.key("sticky", sticky.unwrap_or("-")));
        if bump_cursor {
            pipe.cmd("INCR").arg(format!("{}rr", self.prefix));
        }
        type Reply = (
            Vec<Option<u64>>,
            Vec<Option<String>>,
            Vec<Option<u64>>,
            Option<String>,
        );
        let mut c = self.conn.clone();
        let ((cooldowns, disabled, used, sticky_value), cursor): (Reply, Option<u64>) =
            if bump_cursor {
                let (a, b, c2, d, rr): (_, _, _, _, u64) = timed(pipe.query_async(&mut c)).await?;
                ((a, b, c2, d), Some(rr))
            } else {
                (timed(pipe.query_async(&mut c)).await?, None)
            };
        Ok(SelectionView {
            cooldowns,
            disabled,
            used: used.into_iter().map(Option::unwrap_or_default).collect(),
            sticky: sticky.and(sticky_value),
            cursor,
        })
    }

    /// After a selection: `INCR used:{account}` and, for a conversation, `SET sticky:{key}
    /// account PX ttl`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn record_selection(
        &self,
        account: &str,
        sticky: Option<(&str, Duration)>,
    ) -> Result<(), RedisStoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("INCR").arg(self.key("used", account)).ignore();
        if let Some((key, ttl)) = sticky {
            pipe.cmd("SET")
                .arg(self.key("sticky", key))
                .arg(account)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .ignore();
        }
        let mut c = self.conn.clone();
        timed(pipe.query_async::<()>(&mut c)).await
    }

    /// `SET cooldown:{account} until_ms PX (until_ms - now_ms)`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn set_cooldown(
        &self,
        account: &str,
        until_ms: u64,
        now_ms: u64,
    ) -> Result<(), RedisStoreError> {
        let ttl = until_ms.saturating_sub(now_ms).max(1);
        let mut c = self.conn.clone();
        timed(
            redis::cmd("SET")
                .arg(self.key("cooldown", account))
                .arg(until_ms)
                .arg("PX")
                .arg(ttl)
                .query_async::<()>(&mut c),
        )
        .await
    }

    /// `SET disabled:{account} reason`, or `DEL` with `None`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn set_disabled(
        &self,
        account: &str,
        reason: Option<&str>,
    ) -> Result<(), RedisStoreError> {
        let key = self.key("disabled", account);
        let mut c = self.conn.clone();
        match reason {
            Some(r) => timed(c.set::<_, _, ()>(key, r)).await,
            None => timed(c.del::<_, ()>(key)).await,
        }
    }

    /// `SET quota:{account} <json>`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn set_quota(
        &self,
        account: &str,
        snapshot: &QuotaSnapshot,
    ) -> Result<(), RedisStoreError> {
        let json = serde_json::to_string(snapshot).unwrap_or_default();
        let mut c = self.conn.clone();
        timed(c.set::<_, _, ()>(self.key("quota", account), json)).await
    }

    /// The snapshot another process stored for `account`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn quota(&self, account: &str) -> Result<Option<QuotaSnapshot>, RedisStoreError> {
        let key = self.key("quota", account);
        let mut c = self.conn.clone();
        let raw: Option<String> = timed(c.get(&key)).await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| RedisStoreError::BadValue {
                key,
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// `HINCRBY usage:{account}` for each `(field, amount)`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn add_usage(
        &self,
        account: &str,
        fields: &[(&str, u64)],
    ) -> Result<(), RedisStoreError> {
        let key = self.key("usage", account);
        let mut pipe = redis::pipe();
        for (field, amount) in fields {
            pipe.cmd("HINCRBY")
                .arg(&key)
                .arg(*field)
                .arg(*amount)
                .ignore();
        }
        let mut c = self.conn.clone();
        timed(pipe.query_async::<()>(&mut c)).await
    }

    /// The tokens published for `account`, if any.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn login(&self, account: &str) -> Result<Option<SharedTokens>, RedisStoreError> {
        let key = self.key("login", account);
        let mut c = self.conn.clone();
        let raw: Option<String> = timed(c.get(&key)).await?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| RedisStoreError::BadValue {
                key,
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Publishes `tokens` for `account`.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn set_login(
        &self,
        account: &str,
        tokens: &SharedTokens,
    ) -> Result<(), RedisStoreError> {
        let json = serde_json::to_string(tokens).unwrap_or_default();
        let mut c = self.conn.clone();
        timed(c.set::<_, _, ()>(self.key("login", account), json)).await
    }

    /// `SET refresh-lock:{account} owner NX PX ttl`: `true` when this caller now holds the lock.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn try_lock(
        &self,
        account: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, RedisStoreError> {
        let mut c = self.conn.clone();
        let reply: Option<String> = timed(
            redis::cmd("SET")
                .arg(self.key("refresh-lock", account))
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut c),
        )
        .await?;
        Ok(reply.is_some())
    }

    /// Releases the lock if `owner` still holds it (compare-and-delete); `true` when deleted.
    ///
    /// # Errors
    /// Any [`RedisStoreError`].
    pub async fn unlock(&self, account: &str, owner: &str) -> Result<bool, RedisStoreError> {
        let mut c = self.conn.clone();
        let deleted: i64 = timed(
            redis::Script::new(UNLOCK_SCRIPT)
                .key(self.key("refresh-lock", account))
                .arg(owner)
                .invoke_async(&mut c),
        )
        .await?;
        Ok(deleted == 1)
    }
}
