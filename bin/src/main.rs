//! `codex-pipe`: audio in, text out. See `codex-pipe --help` and the README.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use codex_pipe::cli::{accounts, convert, probe, sim, transcribe, InputPathError, EXIT_USAGE};

/// Transcribe audio with your ChatGPT login (`codex-pipe voice.silk`, `cat x.mp3 | codex-pipe -`),
/// and inspect or convert audio files.
#[derive(Debug, Parser)]
#[command(
    name = "codex-pipe",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 ok, 1 unexpected failure, 2 usage (also a directory or missing \
                  input path), 3 bad input audio, 4 missing tool (rust-silk, ffmpeg), \
                  5 no usable login, 6 upstream error (also a segment of long audio that \
                  failed after its retries; the rest is printed)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    transcribe: transcribe::TranscribeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Transcribe audio (the default: `codex-pipe FILE` is `codex-pipe transcribe FILE`).
    Transcribe(Box<transcribe::TranscribeArgs>),
    /// Print what the input is: container, codec, sample rate, channels, duration.
    Probe(probe::ProbeArgs),
    /// Convert audio the way `transcribe` would before uploading it.
    Convert(convert::ConvertArgs),
    /// Run the offline simulated backend (a test double of the upstream endpoints).
    Sim(sim::SimArgs),
    /// List the proxy's ChatGPT accounts and their state, or check (refresh) them.
    Accounts(accounts::AccountsArgs),
}

/// Log filter: `CODEX_PIPE_LOG`, else `RUST_LOG` (tracing's `EnvFilter` syntax), else warnings.
fn log_filter() -> tracing_subscriber::EnvFilter {
    ["CODEX_PIPE_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn,symphonia=off"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Probe(args)) => probe::run(&args),
        Some(Command::Convert(args)) => convert::run(&args),
        Some(Command::Sim(args)) => runtime().and_then(|rt| rt.block_on(sim::run(args))),
        Some(Command::Accounts(args)) => runtime().and_then(|rt| rt.block_on(accounts::run(args))),
        Some(Command::Transcribe(args)) => transcribe_main(*args),
        None => transcribe_main(cli.transcribe),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("codex-pipe: {e:#}");
            if e.downcast_ref::<InputPathError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn transcribe_main(args: transcribe::TranscribeArgs) -> anyhow::Result<u8> {
    let Some(input) = args.input.clone() else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "an audio FILE (or `-` for standard input) is required",
            )
            .exit()
    };
    runtime()?.block_on(transcribe::run(args, input))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
