//! `codex-pipe probe <FILE|->`: what the bytes are.

use std::path::PathBuf;

use clap::Args;
use codex_pipe_codecs::probe;

use super::codec_args::DecodeArgs;
use super::{codec_exit_code, open_input};

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Audio file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub input: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// SILK and raw-PCM decoding options.
    #[command(flatten)]
    pub decode: DecodeArgs,
}

/// Run `probe`; returns the exit code.
pub fn run(args: &ProbeArgs) -> anyhow::Result<u8> {
    let input = open_input(&args.input)?;
    let report = match probe(input, &args.decode.options()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("codex-pipe: {}: {e}", args.input.display());
            return Ok(codec_exit_code(&e));
        }
    };
    let (mut value, code) = match &report.decoded {
        Ok(d) => (
            serde_json::json!({
                "container": report.container.name(),
                "codec": d.codec,
                "sample_rate": d.spec.sample_rate,
                "channels": d.spec.channels,
                "frames": d.frames,
                "duration_seconds": d.duration_seconds(),
            }),
            0,
        ),
        Err(e) => (
            serde_json::json!({ "container": report.container.name(), "error": e.to_string() }),
            codec_exit_code(e),
        ),
    };
    if args.json {
        if let Some(obj) = value.as_object_mut() {
            obj.insert("input".into(), args.input.display().to_string().into());
        }
        println!("{value}");
    } else {
        println!("container:   {}", report.container);
        if let Ok(d) = &report.decoded {
            println!("codec:       {}", d.codec);
            println!("sample rate: {} Hz", d.spec.sample_rate);
            println!("channels:    {}", d.spec.channels);
            println!("frames:      {}", d.frames);
            println!("duration:    {:.3} s", d.duration_seconds());
        }
    }
    if let Err(e) = &report.decoded {
        eprintln!("codex-pipe: {}: {e}", args.input.display());
    }
    Ok(code)
}
