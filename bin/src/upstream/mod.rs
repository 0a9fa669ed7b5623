//! Upstream HTTP clients: the dictation endpoint (`/backend-api/transcribe`,
//! [`transcribe`]) and the Codex Responses backend (`/backend-api/codex/responses`,
//! [`responses`]). reqwest with rustls; auth headers from [`crate::auth`]. Every failure of
//! either becomes one [`codex_pipe_protocols::UpstreamFailure`] for the server.

pub mod responses;
pub mod transcribe;

use std::time::Duration;

/// Default dictation endpoint (protocols.md §3).
pub const DEFAULT_TRANSCRIBE_URL: &str = "https://chatgpt.com/backend-api/transcribe";

/// `originator` header value, as the Codex desktop app sends it to the dictation endpoint.
pub const ORIGINATOR: &str = "Codex Desktop";

/// Connection settings shared by every upstream call.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `--proxy`: an HTTP(S) proxy URL; `HTTPS_PROXY` / `HTTP_PROXY` are honoured without it.
    pub proxy: Option<String>,
    /// `--request-timeout-seconds`: whole-request timeout.
    pub request_timeout: Duration,
    /// `--connect-timeout-seconds`: TCP + TLS connect timeout.
    pub connect_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            proxy: None,
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

/// The `User-Agent` sent upstream: `Codex Desktop/<our version> (<os>; <arch>)`.
pub fn user_agent() -> String {
    format!(
        "{ORIGINATOR}/{} ({}; {}) codex-pipe",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Idle upstream connections kept per host for reuse. A burst of 1,000 streams over HTTP/1.1
/// opens 1,000 connections; keeping them all for reqwest's 90 s idle timeout held 1,000 file
/// descriptors and about 40 MiB of buffers after the burst was over.
pub const MAX_IDLE_CONNECTIONS_PER_HOST: usize = 32;

/// Build the shared reqwest client (rustls, timeouts, proxy, at most
/// [`MAX_IDLE_CONNECTIONS_PER_HOST`] idle connections per host).
///
/// # Errors
/// An invalid proxy URL, or a TLS backend that fails to initialise.
pub fn http_client(cfg: &HttpConfig) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(user_agent())
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.request_timeout)
        .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS_PER_HOST);
    if let Some(proxy) = &cfg.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy)?);
    }
    builder.build()
}
