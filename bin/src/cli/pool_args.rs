//! Flags for several accounts, several instances and observability, shared by
//! `codex-pipe-proxy` and `codex-pipe accounts`, and the wiring they build: the
//! [`AccountPool`], the client-key policy and the metrics state.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::net_args::AuthArgs;
use crate::accounts::{load, redis_store, AccountPool, PoolConfig, RedisStore, Strategy};
use crate::auth::AuthSource;
use crate::server::api_keys::ApiKeys;
use crate::server::metrics::MetricsState;
use crate::server::ApiKeyPolicy;
use crate::usage_log::UsageLog;

/// Which accounts, how to spread requests over them, and the shared store.
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// A directory of logins: every `*.json` in it (Codex auth.json format) is one account,
    /// named after its file. Combines with `--auth-file` (repeatable).
    #[arg(long, env = "CODEX_PIPE_ACCOUNTS_DIR", value_name = "DIR")]
    pub accounts_dir: Option<PathBuf>,
    /// How requests are spread over several accounts.
    #[arg(long, value_enum, env = "CODEX_PIPE_STRATEGY", default_value_t = Strategy::Sticky)]
    pub strategy: Strategy,
    /// How long a conversation stays on its account after its last request (sticky strategy).
    #[arg(
        long,
        env = "CODEX_PIPE_STICKY_TTL_SECONDS",
        default_value_t = 3600,
        value_name = "S"
    )]
    pub sticky_ttl_seconds: u64,
    /// Share cooldowns, quota snapshots, the sticky map, the refresh lock, the round-robin
    /// cursor and usage counters with other processes through this Redis (or Valkey), e.g.
    /// redis://127.0.0.1:6379/0. Without it everything stays in this process.
    #[arg(
        long,
        env = "CODEX_PIPE_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key (processes that share accounts use the same one).
    #[arg(long, env = "CODEX_PIPE_REDIS_PREFIX", default_value = redis_store::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub redis_prefix: String,
}

impl PoolArgs {
    /// The pool these flags and `auth` (`--auth-file`…, `--bearer`, `--refresh-url`) describe.
    /// `override_source` replaces the logins (the simulated backend's own login).
    ///
    /// # Errors
    /// Unusable account flags, an invalid `--redis-url`, a login that cannot be built.
    pub fn build(
        &self,
        auth: &AuthArgs,
        override_source: Option<AuthSource>,
        http: &reqwest::Client,
    ) -> anyhow::Result<AccountPool> {
        let specs = match override_source {
            Some(source) => vec![load::AccountSpec {
                name: load::DEFAULT_ACCOUNT_NAME.to_owned(),
                source,
            }],
            None => {
                let base = AuthSource {
                    auth_file: None,
                    ..auth.source()
                };
                load::specs(&base, &auth.auth_file, self.accounts_dir.as_deref())?
            }
        };
        let redis = self
            .redis_url
            .as_deref()
            .map(|url| RedisStore::open(url, &self.redis_prefix))
            .transpose()?;
        let config = PoolConfig {
            strategy: self.strategy,
            sticky_ttl: Duration::from_secs(self.sticky_ttl_seconds.max(1)),
            redis,
        };
        Ok(AccountPool::from_specs(specs, http, config)?)
    }
}

/// Client keys, the usage log and metrics.
#[derive(Debug, Clone, Args)]
pub struct ObservabilityArgs {
    /// Named client keys: a JSON object {"name": "key", …}; the name labels metrics and the
    /// usage log. `--api-key` keeps working alongside (named `default`).
    #[arg(long, env = "CODEX_PIPE_API_KEYS_FILE", value_name = "PATH")]
    pub api_keys_file: Option<PathBuf>,
    /// Append one JSON line per request here (time, key name, surface, model, account, status,
    /// tokens, latency, time to first byte; never message text or secrets).
    #[arg(long, env = "CODEX_PIPE_USAGE_LOG", value_name = "FILE")]
    pub usage_log: Option<PathBuf>,
    /// Do not serve `GET /metrics` nor record metrics.
    #[arg(long, env = "CODEX_PIPE_NO_METRICS")]
    pub no_metrics: bool,
}

impl ObservabilityArgs {
    /// `policy` (from `--api-key` / `--no-api-key`) replaced by the named keys of
    /// `--api-keys-file` when given (`api_key` joins them as `default`).
    ///
    /// # Errors
    /// An unreadable or invalid keys file.
    pub fn key_policy(
        &self,
        policy: ApiKeyPolicy,
        api_key: Option<&str>,
    ) -> anyhow::Result<ApiKeyPolicy> {
        match &self.api_keys_file {
            None => Ok(policy),
            Some(path) => Ok(ApiKeyPolicy::Named(std::sync::Arc::new(ApiKeys::load(
                path, api_key,
            )?))),
        }
    }

    /// The metrics state: the installed recorder's handle (unless `--no-metrics`) and the
    /// opened usage log; `None` when both are off.
    ///
    /// # Errors
    /// A recorder already installed; the usage log cannot be opened.
    pub async fn metrics_state(&self, pool: &AccountPool) -> anyhow::Result<Option<MetricsState>> {
        let handle = if self.no_metrics {
            None
        } else {
            Some(crate::metrics::install().context("cannot install the metrics recorder")?)
        };
        let usage_log = match &self.usage_log {
            Some(path) => Some(
                UsageLog::open(path)
                    .await
                    .with_context(|| format!("cannot open --usage-log {}", path.display()))?,
            ),
            None => None,
        };
        if handle.is_none() && usage_log.is_none() {
            return Ok(None);
        }
        Ok(Some(MetricsState {
            handle,
            usage_log,
            accounts: Some(pool.clone()),
        }))
    }
}
