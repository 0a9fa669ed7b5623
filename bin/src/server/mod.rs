//! The proxy server: one [`AppState`], one router, one responder.
//!
//! ```text
//! TcpListener ─► axum::serve ─► routes::router(AppState)
//!   layers: API key (401 in the caller's protocol) ─► upstream permit (--concurrency) ─► body limit
//!   routes/<surface>.rs: extract ─► protocols::<p> ingress ─► AppState::upstream_call
//!                        ─► respond::respond(Translator { ResponsesIngress, <p> egress })
//!   anything else: 404 / 405 in the caller's protocol
//! ```
//!
//! | module | what |
//! |---|---|
//! | [`routes`] | one thin file per surface, the router, which protocol a path speaks |
//! | [`layers`] | API key (one key or named keys, [`api_keys`]), upstream concurrency, unknown routes |
//! | [`respond`] | the responder: stream or fold, commit on the first byte; [`respond::call_and_respond`] adds the metering slot and the move to another account on a usage limit before the first byte |
//! | [`metrics`] | `GET /metrics` and the metering layer (outermost: one record per request, when its body ends) |
//! | [`error`] | the binary's failures as [`codex_pipe_protocols::ApiError`], rendered per protocol ([`error::Rejection`]) |
//!
//! **API key policy** ([`api_key_policy`]): with `--api-key KEY` every request must present
//! `KEY`. Without it, the proxy only starts on a loopback address, where it needs no key
//! (`--no-api-key` says so explicitly); a non-loopback address without a key is refused, because
//! the proxy spends its operator's ChatGPT login on behalf of whoever can reach it.

pub mod api_keys;
pub mod error;
pub mod layers;
pub mod metrics;
pub mod respond;
pub mod routes;
pub mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use codex_pipe_codecs::TranscodeOptions;
use codex_pipe_protocols::models::ModelCatalog;
use codex_pipe_protocols::ApiError;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use self::layers::ApiKeyPolicy;
pub use self::routes::router;
pub use self::serve::{serve, ServeOptions};
use crate::auth::{AuthSource, AuthStore};
use crate::sim::{Sim, SimConfig};
use crate::upstream::responses::{
    CompactResponse, ResponsesClient, ResponsesStream, UpstreamRequest,
};
use crate::upstream::transcribe::Transcriber;

/// Default `--max-upload-mb` (megabytes of 1,000,000 bytes).
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 50;
/// Default `--concurrency`: upstream calls in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default `--port`.
pub const DEFAULT_PORT: u16 = 8788;
/// Default interval of keep-alive frames during upstream silences on a started stream.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Default [`ServerConfig::max_body_bytes`]: 64 MiB (long conversations carry images as data
/// URLs).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Runtime settings of the server (built by the binary from its flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which clients may use the proxy.
    pub api_key: ApiKeyPolicy,
    /// Largest accepted audio upload, in bytes (the `file` part; `--max-upload-mb` × 10⁶).
    pub max_upload_bytes: u64,
    /// Upstream calls in flight at once, on every route; further requests wait for a slot.
    pub concurrency: usize,
    /// How uploads are converted before they go upstream.
    pub transcode: TranscodeOptions,
    /// Write the protocol's keep-alive frame after this long without output on a started
    /// stream; `None` never.
    pub keep_alive: Option<Duration>,
    /// Largest JSON request body read, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Host names (lower case, no port) a request's `Host` header may carry; `None` accepts any.
    /// See [`allowed_hosts`].
    pub allowed_hosts: Option<Arc<[String]>>,
}

impl ServerConfig {
    /// A configuration with the defaults: the given key policy, 50 MB uploads, 16 upstream
    /// calls, automatic conversion, keep-alives every 15 s, 64 MiB JSON bodies.
    pub fn new(api_key: ApiKeyPolicy) -> Self {
        ServerConfig {
            api_key,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_MB * 1_000_000,
            concurrency: DEFAULT_CONCURRENCY,
            transcode: TranscodeOptions::default(),
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allowed_hosts: None,
        }
    }
}

/// The `Host` names a server bound to `addrs` accepts: on loopback, `localhost`, `127.0.0.1`,
/// `::1` and the bound addresses, plus `extra` (`--allowed-hosts`); elsewhere only `extra`, or
/// any host when `extra` is empty. Refusing other names on loopback defeats DNS rebinding: a web
/// page cannot make the browser talk to the proxy under a name the page controls (Ollama does
/// the same).
pub fn allowed_hosts(addrs: &[SocketAddr], extra: &[String]) -> Option<Arc<[String]>> {
    let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
    if !loopback && extra.is_empty() {
        return None;
    }
    let mut names: Vec<String> = extra
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if loopback {
        names.extend(["localhost", "127.0.0.1", "::1"].map(str::to_owned));
        names.extend(addrs.iter().map(|a| a.ip().to_string()));
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    Some(names.into())
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--no-api-key` on an address other machines can reach.
    #[error("--no-api-key is refused on {host}: that address is reachable from other machines, which could then spend your ChatGPT login; pass --api-key <key> (clients send it as `Authorization: Bearer <key>`), or bind to 127.0.0.1")]
    OpenOnPublicHost {
        /// The address as given.
        host: String,
    },
    /// No key on an address other machines can reach.
    #[error("binding to {host} (not a loopback address) requires --api-key <key> (clients send it as `Authorization: Bearer <key>`); without a key the proxy only listens on loopback (127.0.0.1, ::1)")]
    KeyRequired {
        /// The address as given.
        host: String,
    },
    /// Both `--api-key` and `--no-api-key`.
    #[error("--api-key and --no-api-key contradict each other: pass one")]
    Contradiction,
    /// `--api-key ""`.
    #[error("--api-key is empty")]
    EmptyKey,
    /// The host resolved to no address.
    #[error("{host} does not resolve to any address")]
    NoAddress {
        /// The address as given.
        host: String,
    },
    /// A numeric limit of 0.
    #[error("{flag} must be at least 1")]
    Zero {
        /// The flag.
        flag: &'static str,
    },
}

/// Decide the key policy for a server bound to `addrs` (what `host` resolved to).
///
/// | flags | loopback host | other host |
/// |---|---|---|
/// | `--api-key K` | key `K` required | key `K` required |
/// | `--no-api-key` | no key | refused ([`ConfigError::OpenOnPublicHost`]) |
/// | neither | no key | refused ([`ConfigError::KeyRequired`]) |
///
/// # Errors
/// [`ConfigError`] as in the table, plus [`ConfigError::EmptyKey`],
/// [`ConfigError::Contradiction`] and [`ConfigError::NoAddress`].
pub fn api_key_policy(
    host: &str,
    addrs: &[SocketAddr],
    api_key: Option<&str>,
    no_api_key: bool,
) -> Result<ApiKeyPolicy, ConfigError> {
    if addrs.is_empty() {
        return Err(ConfigError::NoAddress { host: host.into() });
    }
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    match (api_key, no_api_key) {
        (Some(_), true) => Err(ConfigError::Contradiction),
        (Some(key), false) if key.trim().is_empty() => Err(ConfigError::EmptyKey),
        (Some(key), false) => Ok(ApiKeyPolicy::Required(key.trim().into())),
        (None, _) if loopback => Ok(ApiKeyPolicy::Open),
        (None, true) => Err(ConfigError::OpenOnPublicHost { host: host.into() }),
        (None, false) => Err(ConfigError::KeyRequired { host: host.into() }),
    }
}

/// What every handler shares. Cheap to clone (reference counted).
#[derive(Clone)]
pub struct AppState {
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// The Codex Responses backend client (with the login it signs requests with).
    pub responses: ResponsesClient,
    /// The dictation client.
    pub transcriber: Transcriber,
    /// The model catalog.
    pub catalog: Arc<ModelCatalog>,
    /// One permit per upstream call in flight (`config.concurrency` in all), shared by every
    /// route.
    pub upstream_permits: Arc<Semaphore>,
    /// Cancelled when the shutdown grace period is over: answers still streaming end with their
    /// protocol's in-band error.
    pub shutdown: CancellationToken,
    /// `GET /metrics`, the metering layer and the usage log ([`AppState::with_metrics`]).
    pub metrics: Option<metrics::MetricsState>,
}

impl AppState {
    /// State for `config` over the two upstream clients and the catalog.
    pub fn new(
        config: ServerConfig,
        responses: ResponsesClient,
        transcriber: Transcriber,
        catalog: ModelCatalog,
    ) -> Self {
        let permits = config.concurrency.max(1);
        AppState {
            config: Arc::new(config),
            responses,
            transcriber,
            catalog: Arc::new(catalog),
            upstream_permits: Arc::new(Semaphore::new(permits)),
            shutdown: CancellationToken::new(),
            metrics: None,
        }
    }

    /// The usual wiring: both clients share `http` and `auth`; `responses_base_url` is the
    /// Codex backend (`…/backend-api/codex`), `transcribe_url` the dictation endpoint.
    pub fn build(
        config: ServerConfig,
        http: reqwest::Client,
        auth: AuthStore,
        responses_base_url: impl Into<String>,
        transcribe_url: impl Into<String>,
        catalog: ModelCatalog,
    ) -> Self {
        Self::with_pool(
            config,
            http,
            crate::accounts::AccountPool::single(auth),
            responses_base_url,
            transcribe_url,
            catalog,
        )
    }

    /// As [`Self::build`] over an account pool: both clients pick their account from `pool`.
    pub fn with_pool(
        config: ServerConfig,
        http: reqwest::Client,
        pool: crate::accounts::AccountPool,
        responses_base_url: impl Into<String>,
        transcribe_url: impl Into<String>,
        catalog: ModelCatalog,
    ) -> Self {
        let responses = ResponsesClient::with_pool(
            http.clone(),
            pool.clone(),
            crate::upstream::responses::ResponsesConfig {
                base_url: responses_base_url.into(),
                ..Default::default()
            },
        );
        let transcriber = Transcriber::with_pool(http, pool, transcribe_url);
        Self::new(config, responses, transcriber, catalog)
    }

    /// Also serve `GET /metrics` (behind the API-key layer) and meter every request
    /// ([`metrics::meter`]).
    pub fn with_metrics(mut self, metrics: metrics::MetricsState) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// `POST …/responses`: a committed SSE answer, or the failure as an [`ApiError`].
    ///
    /// # Errors
    /// The upstream failure ([`crate::upstream::responses::UpstreamError::failure`]).
    pub async fn upstream_call(&self, req: &UpstreamRequest) -> Result<ResponsesStream, ApiError> {
        self.responses
            .stream(req)
            .await
            .map_err(|e| ApiError::from(e.failure()))
    }

    /// `POST …/responses/compact`, read whole.
    ///
    /// # Errors
    /// As [`Self::upstream_call`].
    pub async fn upstream_compact(
        &self,
        req: &UpstreamRequest,
    ) -> Result<CompactResponse, ApiError> {
        self.responses
            .compact(req)
            .await
            .map_err(|e| ApiError::from(e.failure()))
    }
}

/// The in-process simulated backend (`--backend sim`): the simulator on an ephemeral loopback
/// port and a temporary `auth.json` whose refresh URL is the simulator's. Both live as long as
/// this value.
pub struct SimBackend {
    /// The running simulator.
    pub sim: Sim,
    home: tempfile::TempDir,
}

impl SimBackend {
    /// Start the simulator and write its login.
    ///
    /// # Errors
    /// Binding the port, creating the temporary directory, writing `auth.json`.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let sim = Sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await?;
        let home = tempfile::tempdir()?;
        sim.write_auth_json(&home.path().join("auth.json"))?;
        Ok(SimBackend { sim, home })
    }

    /// The temporary `auth.json`.
    pub fn auth_file(&self) -> PathBuf {
        self.home.path().join("auth.json")
    }

    /// The login source pointing at the temporary `auth.json` and the simulator's token
    /// endpoint.
    pub fn auth_source(&self) -> AuthSource {
        AuthSource {
            auth_file: Some(self.auth_file()),
            bearer: None,
            account_id: None,
            refresh_url: Some(self.sim.refresh_url()),
        }
    }

    /// The simulator's dictation endpoint.
    pub fn transcribe_url(&self) -> String {
        self.sim.transcribe_url()
    }

    /// The simulator's Codex Responses base URL (`…/backend-api/codex`).
    pub fn responses_base_url(&self) -> String {
        crate::sim::responses::responses_base_url(&self.sim.base_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Vec<SocketAddr> {
        vec![s.parse().expect("socket address")]
    }

    #[test]
    fn no_api_key_is_refused_on_a_non_loopback_host() {
        let e = api_key_policy("0.0.0.0", &addr("0.0.0.0:8788"), None, true);
        assert_eq!(
            e,
            Err(ConfigError::OpenOnPublicHost {
                host: "0.0.0.0".into()
            })
        );
        let message = e.expect_err("refused").to_string();
        assert!(message.contains("--api-key"), "{message}");
        let e = api_key_policy("192.168.1.5", &addr("192.168.1.5:8788"), None, false);
        assert_eq!(
            e,
            Err(ConfigError::KeyRequired {
                host: "192.168.1.5".into()
            })
        );
        // A name that resolves to a loopback and a public address is not loopback.
        let mixed = [addr("127.0.0.1:1")[0], addr("10.0.0.1:1")[0]];
        assert!(api_key_policy("box", &mixed, None, true).is_err());
    }

    #[test]
    fn loopback_needs_no_key_and_a_key_is_always_honoured() {
        assert_eq!(
            api_key_policy("127.0.0.1", &addr("127.0.0.1:8788"), None, false),
            Ok(ApiKeyPolicy::Open)
        );
        assert_eq!(
            api_key_policy("::1", &addr("[::1]:8788"), None, true),
            Ok(ApiKeyPolicy::Open)
        );
        assert_eq!(
            api_key_policy("0.0.0.0", &addr("0.0.0.0:8788"), Some("k1"), false),
            Ok(ApiKeyPolicy::Required("k1".into()))
        );
        assert_eq!(
            api_key_policy("h", &addr("127.0.0.1:1"), Some("  "), false),
            Err(ConfigError::EmptyKey)
        );
        assert_eq!(
            api_key_policy("h", &addr("127.0.0.1:1"), Some("k"), true),
            Err(ConfigError::Contradiction)
        );
        assert_eq!(
            api_key_policy("h", &[], None, false),
            Err(ConfigError::NoAddress { host: "h".into() })
        );
    }
}
