//! The offline simulated backend: a clearly labelled test double of the upstream contract on
//! loopback. It is what the quick start, the tests and the benchmarks run against, and what a
//! user runs to try everything without an account; it is never a silent fallback.
//!
//! | route | module |
//! |---|---|
//! | `POST /oauth/token` | [`oauth`]: rotating single-use refresh tokens |
//! | `POST /backend-api/transcribe` | [`transcribe`]: inspects and decodes the upload, describes it |
//! | `POST /backend-api/codex/responses`, `…/responses/compact`, `GET …/codex/sim/stats` | [`responses`]: validates like the real backend, streams the scenario a `sim:` marker picks |
//!
//! [`Sim::start`] binds a listener and serves in the background; [`Sim::base_url`] is what the
//! clients point at, and [`Sim::write_auth_json`] writes a login whose refresh URL is the sim's.

pub mod oauth;
pub mod responses;
pub mod transcribe;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::Router;

use self::oauth::SimAuth;
use self::transcribe::{ReceivedAudio, TranscribeScenario, TranscribeState, TRANSCRIBE_PATH};

/// Largest upload the simulated transcribe endpoint reads (bytes).
pub const MAX_UPLOAD_BYTES: usize = 1 << 30;

/// Settings of a simulated backend.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// Copy every accepted upload here (`NNNN.<ext>` + `NNNN.json`).
    pub record_dir: Option<PathBuf>,
    /// Delay and failure scenarios of `/backend-api/transcribe`.
    pub transcribe: TranscribeScenario,
}

/// A running simulated backend.
pub struct Sim {
    addr: SocketAddr,
    auth: SimAuth,
    received: Arc<Mutex<Vec<ReceivedAudio>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sim {
    /// The router of every simulated endpoint, sharing `auth`.
    pub fn router(auth: SimAuth, config: &SimConfig) -> (Router, Arc<Mutex<Vec<ReceivedAudio>>>) {
        let received = Arc::new(Mutex::new(Vec::new()));
        let transcribe = TranscribeState {
            auth: auth.clone(),
            record_dir: config.record_dir.clone(),
            received: received.clone(),
            counter: Arc::new(AtomicUsize::new(0)),
            scenario: config.transcribe.clone(),
            failures: Arc::new(AtomicUsize::new(0)),
        };
        let router = Router::new()
            .route(TRANSCRIBE_PATH, post(transcribe::handle))
            .with_state(transcribe)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
            .merge(auth.clone().router())
            .merge(responses::router(auth.clone()));
        (router, received)
    }

    /// Bind `addr` (port 0 for an ephemeral port) and serve in the background on the current
    /// tokio runtime until dropped.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<Sim> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let auth = SimAuth::new();
        let (router, received) = Sim::router(auth.clone(), &config);
        let task = tokio::spawn(async move {
            // Streamed events are small writes: no Nagle delay (see `server::serve`).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "simulated backend stopped");
            }
        });
        Ok(Sim {
            addr,
            auth,
            received,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The dictation endpoint URL.
    pub fn transcribe_url(&self) -> String {
        format!("{}{TRANSCRIBE_PATH}", self.base_url())
    }

    /// The OAuth token endpoint URL.
    pub fn refresh_url(&self) -> String {
        format!("{}{}", self.base_url(), oauth::TOKEN_PATH)
    }

    /// The simulated login.
    pub fn auth(&self) -> &SimAuth {
        &self.auth
    }

    /// Write a fresh login to `path` (an `auth.json`, mode 0600).
    ///
    /// # Errors
    /// The write error.
    pub fn write_auth_json(&self, path: &Path) -> std::io::Result<()> {
        self.auth
            .write_initial_auth_json(path)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Every accepted upload so far.
    pub fn received(&self) -> Vec<ReceivedAudio> {
        self.received.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}
