//! `codex-pipe [transcribe] <FILE|->`: audio in, text out.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::codec_args::{transcode_options, DecodeArgs, EncodeArgs, TargetArg};
use super::net_args::{AuthArgs, HttpArgs};
use super::{codec_exit_code, open_input, EXIT_AUTH, EXIT_UPSTREAM};
use crate::auth::AuthSource;
use crate::sim::{Sim, SimConfig};
use crate::upstream::transcribe::{TranscribeError, TranscribeRequest, Transcriber};
use crate::upstream::{http_client, DEFAULT_TRANSCRIBE_URL};

/// Which backend to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The real ChatGPT dictation endpoint, with your login.
    Real,
    /// The built-in offline simulated backend, started in-process on a loopback port. It
    /// describes the audio it received instead of recognising speech.
    Sim,
}

/// Arguments of `transcribe` (also accepted without the subcommand name).
#[derive(Debug, Clone, Args)]
pub struct TranscribeArgs {
    /// Audio file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
    /// Language of the speech as an ISO-639-1 code (`en`, `zh`, ...); auto-detected when absent.
    #[arg(long, env = "CODEX_PIPE_LANGUAGE", value_name = "CODE")]
    pub language: Option<String>,
    /// Print `{"text":…,"duration_seconds":…}` instead of the bare text.
    #[arg(long)]
    pub json: bool,
    /// Override the content type of the uploaded `file` part.
    #[arg(long, env = "CODEX_PIPE_CONTENT_TYPE", value_name = "MIME")]
    pub content_type: Option<String>,
    /// Override the file name of the uploaded `file` part.
    #[arg(long, env = "CODEX_PIPE_FILENAME", value_name = "NAME")]
    pub filename: Option<String>,
    /// What to upload: `auto` passes through what the endpoint accepts (WAV, MP3, M4A, FLAC, Ogg
    /// Opus, WebM Opus) and converts the rest (SILK, AAC, AIFF, CAF, Vorbis, ...) to Ogg Opus.
    #[arg(long = "to", value_enum, env = "CODEX_PIPE_TO", default_value = "auto")]
    pub target: TargetArg,
    /// `real` (default) uses your ChatGPT login; `sim` runs the offline simulated backend.
    #[arg(long, value_enum, env = "CODEX_PIPE_BACKEND", default_value = "real")]
    pub backend: Backend,
    /// The dictation endpoint (ignored with `--backend sim`).
    #[arg(long, env = "CODEX_PIPE_ENDPOINT", default_value = DEFAULT_TRANSCRIBE_URL, value_name = "URL")]
    pub endpoint: String,
    /// With `--backend sim`: copy every upload the simulator receives into this directory.
    #[arg(long, env = "CODEX_PIPE_SIM_RECORD_DIR", value_name = "DIR")]
    pub sim_record_dir: Option<PathBuf>,
    /// Output rate, channels and Opus settings for converted audio.
    #[command(flatten)]
    pub encode: EncodeArgs,
    /// SILK and raw-PCM decoding options.
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Login options.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Connection options.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Inputs larger than this get a progress line on a terminal (bytes).
const PROGRESS_MIN_BYTES: u64 = 4 << 20;

/// Run `transcribe`; returns the exit code.
pub async fn run(args: TranscribeArgs, input: PathBuf) -> anyhow::Result<u8> {
    let http = http_client(&args.http.config())?;
    // Keep the simulator (and its temporary login) alive for the whole request.
    let mut _sim_home = None;
    let mut _sim = None;
    let (auth_source, url) = match args.backend {
        Backend::Real => (args.auth.source(), args.endpoint.clone()),
        Backend::Sim => {
            let sim = Sim::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                SimConfig {
                    record_dir: args.sim_record_dir.clone(),
                },
            )
            .await?;
            let home = tempfile::tempdir()?;
            let auth_file = home.path().join("auth.json");
            sim.write_auth_json(&auth_file)?;
            let source = AuthSource {
                auth_file: Some(auth_file),
                bearer: None,
                account_id: None,
                refresh_url: Some(sim.refresh_url()),
            };
            let url = sim.transcribe_url();
            _sim_home = Some(home);
            _sim = Some(sim);
            (source, url)
        }
    };
    let auth = match auth_source.build(http.clone()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("codex-pipe: {e}");
            return Ok(EXIT_AUTH);
        }
    };
    let long_input = input.as_os_str() != "-"
        && std::fs::metadata(&input)
            .map(|m| m.len() > PROGRESS_MIN_BYTES)
            .unwrap_or(false);
    let sent = Arc::new(AtomicU64::new(0));
    let progress = (long_input && std::io::stderr().is_terminal()).then(|| spinner(sent.clone()));
    let request = TranscribeRequest {
        input: open_input(&input)?,
        options: transcode_options(args.target, &args.encode, &args.decode),
        language: args.language.clone(),
        filename: args.filename.clone(),
        content_type: args.content_type.clone(),
        want_duration: args.json,
        progress: Some(sent),
    };
    let result = Transcriber::new(http, auth, url).transcribe(request).await;
    if let Some((bar, ticker)) = progress {
        ticker.abort();
        bar.finish_and_clear();
    }
    match result {
        Ok(t) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"text": t.text, "duration_seconds": t.duration_seconds})
                );
            } else {
                println!("{}", t.text);
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("codex-pipe: {}: {e}", input.display());
            Ok(match &e {
                TranscribeError::Codec(c) => codec_exit_code(c),
                TranscribeError::Auth(_) => EXIT_AUTH,
                _ => EXIT_UPSTREAM,
            })
        }
    }
}

/// A stderr spinner showing the bytes uploaded so far.
fn spinner(sent: Arc<AtomicU64>) -> (indicatif::ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} uploading {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let shown = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            let bytes = sent.load(Ordering::Relaxed);
            shown.set_message(format!("{:.1} MiB", bytes as f64 / 1_048_576.0));
            shown.tick();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (bar, ticker)
}
