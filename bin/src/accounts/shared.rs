//! [`Shared`]: the optional Redis store behind a circuit that falls back to in-memory state.
//!
//! Every shared operation goes through [`Shared::call`]. When Redis fails (down, timed out,
//! unreachable) the caller gets `None` and uses what this process knows; one warning is logged
//! when Redis goes away and one line when it answers again. While it is down no request touches
//! it: a background task pings it every [`PROBE_EVERY`] and reopens the circuit when it answers,
//! so an unreachable server costs requests no timeout.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::redis_store::{RedisStore, RedisStoreError};

/// While Redis is down, how often the background probe pings it.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The shared store, if configured, and whether it is answering.
pub struct Shared {
    redis: Option<RedisStore>,
    down: Arc<AtomicBool>,
}

impl Shared {
    /// No shared store: everything stays in this process.
    pub fn memory() -> Self {
        Shared {
            redis: None,
            down: Arc::default(),
        }
    }

    /// State shared through `redis`.
    pub fn redis(redis: RedisStore) -> Self {
        Shared {
            redis: Some(redis),
            down: Arc::default(),
        }
    }

    /// `true` when a Redis store is configured (whether or not it answers right now).
    pub fn is_configured(&self) -> bool {
        self.redis.is_some()
    }

    /// `true` when Redis is configured and not known to be down.
    pub fn is_up(&self) -> bool {
        self.redis.is_some() && !self.down.load(Ordering::Relaxed)
    }

    /// Runs `op` against Redis. `None` when no store is configured, it is known to be down, or
    /// the call failed (which opens the circuit: logged once, probed in the background).
    pub async fn call<'a, T, F, Fut>(&'a self, op: F) -> Option<T>
    where
        F: FnOnce(&'a RedisStore) -> Fut,
        Fut: Future<Output = Result<T, RedisStoreError>> + 'a,
    {
        let redis = self.redis.as_ref()?;
        if self.down.load(Ordering::Relaxed) {
            return None;
        }
        match op(redis).await {
            Ok(v) => Some(v),
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "Redis is unavailable; this process continues with its in-memory account state (cooldowns, sticky map, counters) until Redis answers again");
                    crate::metrics::record_redis_up(false);
                    tokio::spawn(probe(redis.clone(), Arc::clone(&self.down)));
                }
                None
            }
        }
    }

    /// Runs `op` in a background task (writes off the request path); failures as in
    /// [`Shared::call`].
    pub fn spawn<F, Fut>(self: &Arc<Self>, op: F)
    where
        F: FnOnce(RedisStore) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), RedisStoreError>> + Send + 'static,
    {
        if !self.is_up() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.call(|r| op(r.clone())).await;
        });
    }
}

/// Pings `redis` every [`PROBE_EVERY`] until it answers, then closes the circuit.
async fn probe(redis: RedisStore, down: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        if redis.ping().await.is_ok() {
            down.store(false, Ordering::Relaxed);
            tracing::info!("Redis answers again; account state is shared again");
            crate::metrics::record_redis_up(true);
            return;
        }
    }
}
