//! `codex-pipe [transcribe] <FILE|->`: audio in, text out. Long audio is cut at pauses and its
//! segments upload in parallel ([`crate::transcribe`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use codex_pipe_codecs::SegmentOptions;

use super::codec_args::{transcode_options, DecodeArgs, EncodeArgs, TargetArg};
use super::net_args::{AuthArgs, HttpArgs};
use super::output::{render, Format};
use super::progress::Bar;
use super::sim::SimScenarioArgs;
use super::{codec_exit_code, open_input, EXIT_AUTH, EXIT_UPSTREAM};
use crate::auth::AuthSource;
use crate::sim::{Sim, SimConfig};
use crate::transcribe::{self, Progress, SegmentSettings, SegmentedError};
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
    /// Print `{"text", "duration_seconds", "segments"}` (same as `--format json`).
    #[arg(long)]
    pub json: bool,
    /// Output: the text, JSON with segment times, or SRT / WebVTT subtitles (one cue per segment).
    #[arg(long, value_enum, env = "CODEX_PIPE_FORMAT", default_value = "text")]
    pub format: Format,
    /// Long audio is cut at pauses into segments no shorter than this (seconds; the last may be).
    #[arg(
        long,
        env = "CODEX_PIPE_MIN_SEGMENT_SECONDS",
        default_value_t = 8.0,
        value_name = "S"
    )]
    pub min_segment_seconds: f64,
    /// ... and no longer than this (seconds). Audio not longer than this is one upload.
    #[arg(
        long,
        env = "CODEX_PIPE_MAX_SEGMENT_SECONDS",
        default_value_t = 30.0,
        value_name = "S"
    )]
    pub max_segment_seconds: f64,
    /// Segments uploading at once.
    #[arg(long, env = "CODEX_PIPE_PARALLEL", default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Retries of a segment after HTTP 5xx / 429 or a transport failure (with back-off).
    #[arg(
        long,
        env = "CODEX_PIPE_RETRIES",
        default_value_t = 2,
        value_name = "N"
    )]
    pub retries: u32,
    /// Override the content type of the uploaded `file` part (single uploads).
    #[arg(long, env = "CODEX_PIPE_CONTENT_TYPE", value_name = "MIME")]
    pub content_type: Option<String>,
    /// Override the file name of the uploaded `file` part (single uploads).
    #[arg(long, env = "CODEX_PIPE_FILENAME", value_name = "NAME")]
    pub filename: Option<String>,
    /// What to upload: `auto` passes through what the endpoint accepts (WAV, MP3, M4A, FLAC, Ogg
    /// Opus, WebM Opus) and converts the rest (SILK, AAC, AIFF, CAF, Vorbis, ...) to Ogg Opus.
    /// Long audio is sent as Ogg Opus segments (`wav`: WAV segments); `passthrough` never splits.
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
    /// With `--backend sim`: delay and failure scenarios.
    #[command(flatten)]
    pub sim: SimScenarioArgs,
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

/// Run `transcribe`; returns the exit code.
pub async fn run(args: TranscribeArgs, input: PathBuf) -> anyhow::Result<u8> {
    let bounds = SegmentOptions {
        min_seconds: args.min_segment_seconds,
        max_seconds: args.max_segment_seconds,
    };
    if let Err(e) = bounds.validate() {
        eprintln!("codex-pipe: {e}");
        return Ok(super::EXIT_USAGE);
    }
    let source = open_input(&input)?;
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
                    transcribe: args.sim.scenario(),
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
    let progress = Arc::new(Progress::default());
    let bar = Bar::start(progress.clone());
    let settings = SegmentSettings {
        bounds,
        parallel: usize::from(args.parallel),
        retries: args.retries,
        backoff: Duration::from_millis(500),
        progress: Some(progress),
        limit: None,
    };
    let request = TranscribeRequest {
        input: source,
        options: transcode_options(args.target, &args.encode, &args.decode),
        language: args.language.clone(),
        filename: args.filename.clone(),
        content_type: args.content_type.clone(),
        want_duration: true,
        progress: None,
    };
    let transcriber = Transcriber::new(http, auth, url);
    let result = transcribe::transcribe(&transcriber, request, &settings).await;
    if let Some(bar) = bar {
        bar.finish();
    }
    let format = if args.json { Format::Json } else { args.format };
    match result {
        Ok(t) => {
            print!("{}", render(&t, format));
            Ok(0)
        }
        Err(SegmentedError::Partial {
            transcript,
            failed,
            decode_error,
        }) => {
            // Nothing silently lost: what was transcribed is printed, the failures named.
            print!("{}", render(&transcript, format));
            let code = match (&decode_error, failed.is_empty()) {
                (Some(e), true) => codec_exit_code(e),
                _ if failed
                    .iter()
                    .any(|f| matches!(f.error, TranscribeError::Auth(_))) =>
                {
                    EXIT_AUTH
                }
                _ => EXIT_UPSTREAM,
            };
            let e = SegmentedError::Partial {
                transcript,
                failed,
                decode_error,
            };
            eprintln!("codex-pipe: {}: {e}", input.display());
            Ok(code)
        }
        Err(SegmentedError::Request(e)) => {
            eprintln!("codex-pipe: {}: {e}", input.display());
            Ok(match &e {
                TranscribeError::Codec(c) => codec_exit_code(c),
                TranscribeError::Auth(_) => EXIT_AUTH,
                _ => EXIT_UPSTREAM,
            })
        }
    }
}
