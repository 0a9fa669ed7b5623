//! [`Shared`]: the optional Redis store behind a circuit that falls back to in-memory state.
//!
//! Every shared operation goes through [`Shared::call`]. When Redis fails (down, timed out,
//! unreachable) the caller gets `None` and uses what this process knows; one warning is logged
//! when Redis goes away and one line when it answers again. While it is down, calls are skipped
//! for [`RETRY_DOWN_AFTER`] at a time so a dead server costs no request a timeout.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::redis_store::{RedisStore, RedisStoreError};

/// While Redis is down, how long to skip it before trying again.
pub const RETRY_DOWN_AFTER: Duration = Duration::from_secs(1);

/// The shared store, if configured, and whether it is answering.
pub struct Shared {
    redis: Option<RedisStore>,
    down: AtomicBool,
    retry_at: Mutex<Option<Instant>>,
}

impl Shared {
    /// No shared store: everything stays in this process.
    pub fn memory() -> Self {
        Shared {
            redis: None,
            down: AtomicBool::new(false),
            retry_at: Mutex::new(None),
        }
    }

    /// State shared through `redis`.
    pub fn redis(redis: RedisStore) -> Self {
        Shared {
            redis: Some(redis),
            ..Shared::memory()
        }
    }

    /// `true` when a Redis store is configured (whether or not it answers right now).
    pub fn is_configured(&self) -> bool {
        self.redis.is_some()
    }

    /// `true` when Redis is configured and its last call succeeded.
    pub fn is_up(&self) -> bool {
        self.redis.is_some() && !self.down.load(Ordering::Relaxed)
    }

    /// The store, unless none is configured or it is down and not due for a retry.
    fn usable(&self) -> Option<&RedisStore> {
        let redis = self.redis.as_ref()?;
        if self.down.load(Ordering::Relaxed) {
            let mut retry_at = self.retry_at.lock().unwrap_or_else(|p| p.into_inner());
            match *retry_at {
                Some(t) if Instant::now() < t => return None,
                _ => *retry_at = Some(Instant::now() + RETRY_DOWN_AFTER),
            }
        }
        Some(redis)
    }

    /// Runs `op` against Redis. `None` when no store is configured, it is known to be down, or
    /// the call failed (logged once per outage).
    pub async fn call<'a, T, F, Fut>(&'a self, op: F) -> Option<T>
    where
        F: FnOnce(&'a RedisStore) -> Fut,
        Fut: Future<Output = Result<T, RedisStoreError>> + 'a,
    {
        let redis = self.usable()?;
        match op(redis).await {
            Ok(v) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again; account state is shared again");
                    crate::metrics::record_redis_up(true);
                }
                Some(v)
            }
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Instant::now() + RETRY_DOWN_AFTER);
                    tracing::warn!(error = %e, "Redis is unavailable; this process continues with its in-memory account state (cooldowns, sticky map, counters) until Redis answers again");
                    crate::metrics::record_redis_up(false);
                }
                None
            }
        }
    }

    /// Runs `op` in a background task (writes off the request path); failures as in
    /// [`Shared::call`].
    pub fn spawn<F, Fut>(self: &std::sync::Arc<Self>, op: F)
    where
        F: FnOnce(RedisStore) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), RedisStoreError>> + Send + 'static,
    {
        if self.redis.is_none() {
            return;
        }
        let this = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            this.call(|r| op(r.clone())).await;
        });
    }
}
