//! `codex-pipe-proxy`: a local server that speaks OpenAI Chat Completions, OpenAI Responses
//! (passthrough), the OpenAI audio transcription API, the Gemini API and the Ollama API,
//! served through your ChatGPT login.
//!
//! This file only parses flags into a [`ServerConfig`]; everything else is in
//! `codex_pipe::server`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use codex_pipe::cli::codec_args::{transcode_options, DecodeArgs, EncodeArgs, TargetArg};
use codex_pipe::cli::net_args::{AuthArgs, HttpArgs};
use codex_pipe::cli::pool_args::{ObservabilityArgs, PoolArgs};
use codex_pipe::cli::transcribe::Backend;
use codex_pipe::server::{
    self, api_key_policy, AppState, ConfigError, ServeOptions, ServerConfig, SimBackend,
    DEFAULT_CONCURRENCY, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_PORT,
};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::responses::{
    ResponsesClient, ResponsesConfig, DEFAULT_RESPONSES_BASE_URL,
};
use codex_pipe::upstream::transcribe::Transcriber;
use codex_pipe::upstream::{http_client, DEFAULT_TRANSCRIBE_URL};
use codex_pipe_protocols::models::{ModelCatalog, ModelConfig};

/// Default model when neither a flag, the model configuration nor Codex's config.toml names one.
const FALLBACK_MODEL: &str = "gpt-5.4";

/// Serve OpenAI Chat Completions (`/v1/chat/completions`), OpenAI Responses (`/v1/responses`,
/// for Codex CLI), `/v1/models` and audio transcriptions (`/v1/audio/transcriptions`) through
/// your ChatGPT login, translated to the Codex backend with real streaming.
///
/// On a loopback address (the default) no API key is needed. Any other address requires
/// `--api-key`, which clients send as `Authorization: Bearer <key>` (or `x-api-key`,
/// `x-goog-api-key`).
#[derive(Debug, Parser)]
#[command(name = "codex-pipe-proxy", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CODEX_PIPE_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "CODEX_PIPE_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Also serve everything on 127.0.0.1:<PORT>, for Ollama clients that expect Ollama's
    /// address (Ollama's own port is 11434; 0 picks a free port). Off by default.
    #[arg(long, env = "CODEX_PIPE_OLLAMA_PORT", value_name = "PORT")]
    ollama_port: Option<u16>,
    /// The key clients must send (`Authorization: Bearer <key>`); required off loopback.
    /// Prefer `--api-key-file` or the environment: a command line is visible in `ps`.
    #[arg(
        long,
        env = "CODEX_PIPE_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        conflicts_with_all = ["no_api_key", "api_key_file"]
    )]
    api_key: Option<String>,
    /// A file whose content (trimmed) is the key clients must send.
    #[arg(
        long,
        env = "CODEX_PIPE_API_KEY_FILE",
        value_name = "PATH",
        conflicts_with = "no_api_key"
    )]
    api_key_file: Option<std::path::PathBuf>,
    /// Extra names the `Host` header may carry. On a loopback address only `localhost`,
    /// `127.0.0.1`, `::1` and the bound address are accepted (a defence against DNS
    /// rebinding: a web page cannot reach the proxy through a name it controls).
    #[arg(
        long,
        env = "CODEX_PIPE_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    allowed_hosts: Vec<String>,
    /// Close a connection that has not sent a complete request head for this long (slow
    /// clients, idle keep-alive connections).
    #[arg(
        long,
        env = "CODEX_PIPE_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 30,
        value_name = "S"
    )]
    header_read_timeout_seconds: u64,
    /// Fail a request whose body stops arriving for this long.
    #[arg(
        long,
        env = "CODEX_PIPE_BODY_IDLE_TIMEOUT_SECONDS",
        default_value_t = 60,
        value_name = "S"
    )]
    body_idle_timeout_seconds: u64,
    /// After SIGTERM / Ctrl-C, how long answers in flight may take before they are ended with
    /// an in-band error.
    #[arg(
        long,
        env = "CODEX_PIPE_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 30,
        value_name = "S"
    )]
    shutdown_grace_seconds: u64,
    /// Accept requests without a key (refused unless the host is a loopback address).
    #[arg(long, env = "CODEX_PIPE_NO_API_KEY")]
    no_api_key: bool,
    /// Largest accepted audio upload, in megabytes (10^6 bytes); larger uploads get HTTP 413.
    #[arg(long, env = "CODEX_PIPE_MAX_UPLOAD_MB", default_value_t = DEFAULT_MAX_UPLOAD_MB, value_name = "MB")]
    max_upload_mb: u64,
    /// Upstream calls in flight at once, on every route (chat, responses, compact,
    /// transcriptions); further requests wait.
    #[arg(long, env = "CODEX_PIPE_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY, value_name = "N")]
    concurrency: usize,
    /// The dictation endpoint (ignored with `--backend sim`).
    #[arg(long, env = "CODEX_PIPE_TRANSCRIBE_ENDPOINT", default_value = DEFAULT_TRANSCRIBE_URL, value_name = "URL")]
    transcribe_endpoint: String,
    /// `real` uses your ChatGPT login; `sim` starts the offline simulated backend in-process
    /// (it describes the audio instead of recognising speech).
    #[arg(long, value_enum, env = "CODEX_PIPE_BACKEND", default_value = "real")]
    backend: Backend,
    /// The Codex Responses backend that chat requests go to (ignored with `--backend sim`).
    #[arg(long, env = "CODEX_PIPE_UPSTREAM_BASE_URL", default_value = DEFAULT_RESPONSES_BASE_URL, value_name = "URL")]
    upstream_base_url: String,
    /// Model used when a request names none (default: `model` in `$CODEX_HOME/config.toml`,
    /// else gpt-5.4).
    #[arg(long, env = "CODEX_PIPE_DEFAULT_MODEL", value_name = "MODEL")]
    default_model: Option<String>,
    /// A JSON model configuration: `{"default_model", "default_reasoning_effort", "aliases":
    /// {"claude-sonnet-4-6": "gpt-5.4"}, ...}` (see README).
    #[arg(long, env = "CODEX_PIPE_MODELS_CONFIG", value_name = "PATH")]
    models_config: Option<std::path::PathBuf>,
    /// What to upload: `auto` passes through what the endpoint accepts and converts the rest to
    /// Ogg Opus.
    #[arg(long = "to", value_enum, env = "CODEX_PIPE_TO", default_value = "auto")]
    target: TargetArg,
    /// Output rate, channels and Opus settings for converted audio.
    #[command(flatten)]
    encode: EncodeArgs,
    /// SILK and raw-PCM decoding options.
    #[command(flatten)]
    decode: DecodeArgs,
    /// Login options (`--auth-file` is repeatable: one account each).
    #[command(flatten)]
    auth: AuthArgs,
    /// Several accounts and several instances.
    #[command(flatten)]
    pool: PoolArgs,
    /// Client keys, usage log, metrics.
    #[command(flatten)]
    observe: ObservabilityArgs,
    /// Connection options.
    #[command(flatten)]
    http: HttpArgs,
}

/// jemalloc returns freed memory to the system on its own (see README "Security and limits").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CODEX_PIPE_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("info,symphonia_core=error,symphonia=error")
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    raise_open_files_limit();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Codec threads (one per upload) end 2 s after their last job instead of tokio's 10 s:
        // an idle thread keeps its stack and its allocator cache.
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build();
    let result = runtime
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codex-pipe-proxy: {e:#}");
            // A refused configuration is a usage error, like clap's own.
            if e.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot resolve --host {}", args.host))?
        .collect();
    let file_key = match &args.api_key_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --api-key-file {}", path.display()))?,
        ),
        None => None,
    };
    let key = args.api_key.as_deref().or(file_key.as_deref());
    let policy = match &args.observe.api_keys_file {
        Some(_) => server::ApiKeyPolicy::Open,
        None => api_key_policy(&args.host, &addrs, key, args.no_api_key)?,
    };
    let policy = args.observe.key_policy(policy, key)?;
    for (flag, value) in [
        ("--max-upload-mb", args.max_upload_mb),
        ("--concurrency", args.concurrency as u64),
    ] {
        if value == 0 {
            return Err(ConfigError::Zero { flag }.into());
        }
    }
    let config = ServerConfig {
        api_key: policy,
        max_upload_bytes: args.max_upload_mb.saturating_mul(1_000_000),
        concurrency: args.concurrency,
        transcode: transcode_options(args.target, &args.encode, &args.decode),
        keep_alive: Some(DEFAULT_KEEP_ALIVE),
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        allowed_hosts: server::allowed_hosts(&addrs, &args.allowed_hosts),
    };
    let serve_options = ServeOptions {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds.max(1)),
        body_idle_timeout: Duration::from_secs(args.body_idle_timeout_seconds.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_seconds),
    };
    let http = http_client(&args.http.config())?;
    // Keeps the simulator and its temporary login alive while serving.
    let mut _sim = None;
    let catalog = model_catalog(&args)?;
    let (source, url, responses_url) = match args.backend {
        Backend::Real => (
            None,
            args.transcribe_endpoint.clone(),
            args.upstream_base_url.clone(),
        ),
        Backend::Sim => {
            let sim = SimBackend::start(SimConfig::default()).await?;
            let pair = (
                Some(sim.auth_source()),
                sim.transcribe_url(),
                codex_pipe::sim::responses::responses_base_url(&sim.sim.base_url()),
            );
            eprintln!(
                "codex-pipe-proxy: simulated backend at {} (answers describe the audio; no speech recognition)",
                sim.sim.base_url()
            );
            _sim = Some(sim);
            pair
        }
    };
    let pool = args.pool.build(&args.auth, source, &http)?;
    pool.reset_disabled().await;
    let auth = pool.primary_auth().clone();
    if pool.len() == 1 {
        eprintln!("codex-pipe-proxy: ChatGPT login: {}", auth.describe());
    } else {
        eprintln!(
            "codex-pipe-proxy: {} ChatGPT accounts ({}), strategy {}",
            pool.len(),
            pool.names().join(", "),
            pool.strategy()
        );
    }
    let metrics = args.observe.metrics_state(&pool).await?;
    let listener = tokio::net::TcpListener::bind(addrs.as_slice())
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let local = listener.local_addr()?;
    let keyed = !matches!(config.api_key, server::ApiKeyPolicy::Open);
    println!(
        "codex-pipe-proxy listening on http://{local}/v1 (chat, responses, models, audio transcriptions; Gemini /v1beta; Ollama /api; API key {})",
        if keyed { "required" } else { "not required" }
    );
    let responses = ResponsesConfig {
        base_url: responses_url,
        ..ResponsesConfig::default()
    };
    let upstream = ResponsesClient::with_pool(http.clone(), pool.clone(), responses);
    let transcriber = Transcriber::with_pool(http, pool, url);
    let mut state = AppState::new(config, upstream, transcriber, catalog);
    if let Some(metrics) = metrics {
        state = state.with_metrics(metrics);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let ollama = match args.ollama_port {
        None => None,
        Some(port) => {
            let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port))
                .await
                .with_context(|| format!("cannot listen on 127.0.0.1:{port} (--ollama-port)"))?;
            println!(
                "codex-pipe-proxy: Ollama API also on http://{}",
                listener.local_addr()?
            );
            let serving = server::serve(
                listener,
                state.clone(),
                until_stopped(stopped.clone()),
                serve_options.clone(),
            );
            Some(tokio::spawn(serving))
        }
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        eprintln!("codex-pipe-proxy: shutting down, finishing requests in flight");
        let _ = stop.send(true);
    });
    server::serve(listener, state, until_stopped(stopped), serve_options).await?;
    if let Some(ollama) = ollama {
        ollama.await??;
    }
    Ok(())
}

/// The model catalog: `--models-config`, with the default model from `--default-model`, else
/// `model` in `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`), else gpt-5.4.
fn model_catalog(args: &Args) -> anyhow::Result<ModelCatalog> {
    let default_model = args
        .default_model
        .clone()
        .or_else(codex_config_model)
        .unwrap_or_else(|| FALLBACK_MODEL.to_owned());
    match &args.models_config {
        None => Ok(ModelCatalog::builtin(&default_model)),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --models-config {}", path.display()))?;
            let config = ModelConfig::from_json_str(&text)
                .with_context(|| format!("in {}", path.display()))?;
            Ok(config.build(&default_model)?)
        }
    }
}

/// The top-level `model = "…"` of Codex's own `config.toml`, if there is one.
fn codex_config_model() -> Option<String> {
    let home = std::env::var_os("CODEX_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".codex")))?;
    let text = std::fs::read_to_string(home.join("config.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("model")?.as_str().map(str::to_owned)
}

/// Completes on Ctrl-C, or SIGTERM on Unix (what service managers and containers send); the
/// server then stops accepting and finishes the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Raises the soft limit of open files to the hard limit: every stream holds two sockets (the
/// client's and the upstream's) and `auth.json` is re-read per request, so the common default of
/// 1024 runs out near 500 concurrent streams.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
}
