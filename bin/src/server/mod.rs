//! The proxy server: configuration, the axum router, and serving with graceful shutdown.
//!
//! ```text
//! TcpListener ─► axum::serve ─► router(ServerState)
//!   GET  /healthz                                   {"status":"ok"} (no API key needed)
//!   POST /v1/audio/transcriptions, /audio/transcriptions  ─► transcriptions (API key checked)
//!   anything else                                   404 / 405 with an OpenAI error body
//! ```
//!
//! One module per client surface: [`transcriptions`] serves the OpenAI (Whisper-style) audio
//! API. A new surface adds a module with a `routes() -> Router<ServerState>` function and one
//! `.merge(...)` line in [`router`]; it shares the upstream HTTP client, the login store and the
//! configuration through [`ServerState`], errors map to each protocol's body in one module
//! ([`error`] for OpenAI), and the API key is checked once for all of them ([`auth_layer`]).
//!
//! **API key policy** ([`api_key_policy`]): with `--api-key KEY` every request must present
//! `KEY`. Without it, the proxy only starts on a loopback address, where it needs no key
//! (`--no-api-key` says so explicitly); a non-loopback address without a key is refused, because
//! the proxy spends its operator's ChatGPT login on behalf of whoever can reach it.

pub mod api_keys;
pub mod auth_layer;
pub mod error;
pub mod metrics;
pub mod transcriptions;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use codex_pipe_codecs::TranscodeOptions;
use tokio::sync::Semaphore;

pub use self::auth_layer::ApiKeyPolicy;
use self::error::ApiError;
use crate::auth::{AuthSource, AuthStore};
use crate::sim::{Sim, SimConfig};
use crate::upstream::transcribe::Transcriber;

/// Default `--max-upload-mb` (megabytes of 1,000,000 bytes).
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 50;
/// Default `--concurrency`: upstream calls in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default `--port`.
pub const DEFAULT_PORT: u16 = 8788;

/// Runtime settings of the server (built by the binary from its flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which clients may use the proxy.
    pub api_key: ApiKeyPolicy,
    /// Largest accepted audio upload, in bytes (the `file` part; `--max-upload-mb` × 10⁶).
    pub max_upload_bytes: u64,
    /// Upstream calls in flight at once; further requests wait for a slot.
    pub concurrency: usize,
    /// How uploads are converted before they go upstream.
    pub transcode: TranscodeOptions,
}

impl ServerConfig {
    /// A configuration with the defaults: the given key policy, 50 MB uploads, 16 upstream
    /// calls, automatic conversion.
    pub fn new(api_key: ApiKeyPolicy) -> Self {
        ServerConfig {
            api_key,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_MB * 1_000_000,
            concurrency: DEFAULT_CONCURRENCY,
            transcode: TranscodeOptions::default(),
        }
    }
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
pub struct ServerState {
    /// The upstream HTTP client (connection pool shared by every surface).
    pub http: reqwest::Client,
    /// The ChatGPT login used upstream.
    pub auth: AuthStore,
    /// The dictation client.
    pub transcriber: Transcriber,
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// One permit per upstream call in flight (`config.concurrency` in all).
    pub upstream_permits: Arc<Semaphore>,
    /// The LLM surfaces (`/v1/chat/completions`, `/v1/responses`, `/v1/models`, `/health`),
    /// when configured ([`ServerState::with_llm`]).
    pub llm: Option<crate::llm::LlmState>,
    /// `GET /metrics`, the metering layer and the usage log ([`ServerState::with_metrics`]).
    pub metrics: Option<metrics::MetricsState>,
}

impl ServerState {
    /// State for `config`, talking to the dictation endpoint at `transcribe_url`.
    pub fn new(
        config: ServerConfig,
        http: reqwest::Client,
        auth: AuthStore,
        transcribe_url: impl Into<String>,
    ) -> Self {
        let permits = config.concurrency.max(1);
        ServerState {
            transcriber: Transcriber::new(http.clone(), auth.clone(), transcribe_url),
            http,
            auth,
            config: Arc::new(config),
            upstream_permits: Arc::new(Semaphore::new(permits)),
            llm: None,
            metrics: None,
        }
    }

    /// Also serve `GET /metrics` (behind the API-key layer) and meter every request
    /// ([`metrics::meter`]).
    pub fn with_metrics(mut self, metrics: metrics::MetricsState) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Also serve the LLM surfaces of [`crate::llm::llm_router`], behind the same API-key layer.
    pub fn with_llm(mut self, llm: crate::llm::LlmState) -> Self {
        self.llm = Some(llm);
        self
    }
}

/// The whole application: health check, every surface behind the API-key layer, and OpenAI
/// error bodies for unknown routes and methods.
pub fn router(state: ServerState) -> Router {
    let api =
        Router::new()
            .merge(transcriptions::routes())
            .route_layer(middleware::from_fn_with_state(
                state.config.api_key.clone(),
                auth_layer::require_api_key,
            ));
    let llm = state.llm.clone().map(|llm| {
        crate::llm::llm_router(llm).route_layer(middleware::from_fn_with_state(
            state.config.api_key.clone(),
            auth_layer::require_api_key,
        ))
    });
    let metering = state.metrics.clone();
    let app = Router::new()
        .route("/healthz", get(healthz))
        .merge(api)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    let app = match llm {
        Some(llm) => app.merge(llm),
        None => app,
    };
    match metering {
        Some(m) => app
            .merge(
                metrics::routes(m.clone()).route_layer(middleware::from_fn_with_state(
                    state.config.api_key.clone(),
                    auth_layer::require_api_key,
                )),
            )
            .layer(middleware::from_fn_with_state(m, metrics::meter)),
        None => app,
    }
}

/// `GET /healthz`: `200 {"status":"ok"}` while the process serves requests.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::unknown_route(request.method().as_str(), request.uri().path())
}

async fn method_not_allowed(request: Request) -> Response {
    let mut e = ApiError::unknown_route(request.method().as_str(), request.uri().path());
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.code = Some("method_not_allowed");
    e.message = format!(
        "method {} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    e.into_response()
}

/// Serve `state` on `listener` until `shutdown` completes, then finish the requests in flight.
///
/// # Errors
/// The accept loop's I/O error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every SSE event is a small write: without TCP_NODELAY, Nagle's algorithm holds it until
    // the client's delayed ACK (40 ms on Linux), which is what `scripts/bench-proxy` measured
    // per request before this.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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
