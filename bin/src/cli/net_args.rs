//! Login and connection flags shared by `codex-pipe` and `codex-pipe-proxy`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::auth::AuthSource;
use crate::upstream::HttpConfig;

/// Where the ChatGPT login comes from.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The Codex login file (default `$CODEX_HOME/auth.json`, else `~/.codex/auth.json`).
    /// The proxy takes it several times, one account each; other commands use the first.
    #[arg(long, env = "CODEX_PIPE_AUTH_FILE", value_name = "PATH")]
    pub auth_file: Vec<PathBuf>,
    /// Use this access token instead of auth.json ("Bearer " prefix optional; no refresh).
    #[arg(
        long,
        env = "CODEX_PIPE_BEARER",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub bearer: Option<String>,
    /// Override the ChatGPT account id sent as `ChatGPT-Account-Id`.
    #[arg(long, env = "CODEX_PIPE_ACCOUNT_ID", value_name = "ID")]
    pub account_id: Option<String>,
    /// OAuth token endpoint for refreshing the login (default: `CODEX_REFRESH_TOKEN_URL_OVERRIDE`,
    /// else https://auth.openai.com/oauth/token).
    #[arg(long, env = "CODEX_PIPE_REFRESH_URL", value_name = "URL")]
    pub refresh_url: Option<String>,
}

impl AuthArgs {
    /// The auth source these flags describe.
    pub fn source(&self) -> AuthSource {
        AuthSource {
            auth_file: self.auth_file.first().cloned(),
            bearer: self.bearer.clone(),
            account_id: self.account_id.clone(),
            refresh_url: self.refresh_url.clone(),
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// HTTP(S) proxy for upstream requests (`HTTPS_PROXY` is honoured without it).
    #[arg(long, env = "CODEX_PIPE_PROXY", value_name = "URL")]
    pub proxy: Option<String>,
    /// Whole-request timeout for upstream calls, in seconds.
    #[arg(
        long,
        env = "CODEX_PIPE_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 300,
        value_name = "S"
    )]
    pub request_timeout_seconds: u64,
    /// Connect timeout for upstream calls, in seconds.
    #[arg(
        long,
        env = "CODEX_PIPE_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 15,
        value_name = "S"
    )]
    pub connect_timeout_seconds: u64,
}

impl HttpArgs {
    /// The connection settings these flags describe.
    pub fn config(&self) -> HttpConfig {
        HttpConfig {
            proxy: self.proxy.clone(),
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
            connect_timeout: Duration::from_secs(self.connect_timeout_seconds),
        }
    }
}
