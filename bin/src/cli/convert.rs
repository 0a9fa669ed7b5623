//! `codex-pipe convert <FILE|-> -o <FILE|->`: run the codec chain without uploading.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use clap::Args;
use codex_pipe_codecs::encode::wav;
use codex_pipe_codecs::{Output, Transcoder};

use super::codec_args::{transcode_options, DecodeArgs, EncodeArgs, TargetArg};
use super::{codec_exit_code, open_input};

/// Arguments of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Audio file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub input: PathBuf,
    /// Output file, or `-` for standard output.
    #[arg(short, long, value_name = "FILE|-")]
    pub output: PathBuf,
    /// What to produce: `auto` passes through what the dictation endpoint accepts and converts
    /// the rest to Ogg Opus.
    #[arg(long = "to", value_enum, env = "CODEX_PIPE_TO", default_value = "auto")]
    pub target: TargetArg,
    /// Output rate, channels and Opus settings.
    #[command(flatten)]
    pub encode: EncodeArgs,
    /// SILK and raw-PCM decoding options.
    #[command(flatten)]
    pub decode: DecodeArgs,
}

/// Run `convert`; returns the exit code.
pub fn run(args: &ConvertArgs) -> anyhow::Result<u8> {
    let opts = transcode_options(args.target, &args.encode, &args.decode);
    let input = open_input(&args.input)?;
    let chain = match Transcoder::open(input, &opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("codex-pipe: {}: {e}", args.input.display());
            return Ok(codec_exit_code(&e));
        }
    };
    let plan = *chain.plan();
    tracing::info!(input = %plan.input, output = plan.mime_type(), "convert");
    let result = if args.output.as_os_str() == "-" {
        let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        chain.run(&mut out)
    } else {
        let file = File::create(&args.output)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.output.display()))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        let result = chain.run(&mut out);
        // A WAV written to a file gets its exact sizes once the length is known.
        if let (Ok(summary), Output::Wav(spec)) = (&result, plan.output) {
            let mut file = out.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&wav::header(spec, summary.frames_out))?;
        }
        result
    };
    match result {
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("codex-pipe: {}: {e}", args.input.display());
            Ok(codec_exit_code(&e))
        }
    }
}
