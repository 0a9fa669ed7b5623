//! SILK v3 and Tencent/WeChat SILK through the external `rust-silk` program (crates.io
//! `rust-silk` 0.1.4, which wraps the Skype SILK SDK), one row of the external decoder table (`decode/external.rs`).
//!
//! The program runs as `rust-silk decode -i - -o - --sample-rate <rate> --quiet` and writes
//! mono s16le PCM; the input kind (plain or Tencent) is detected by the program itself. Since it
//! writes partial PCM before failing on a truncated file, the failure arrives at the end of the
//! stream (codecs.md §4).

use std::path::PathBuf;

use super::external::ExternalCommand;
use super::PcmSpec;
use crate::error::CodecError;
use crate::sniff::Container;

/// Sample rates `rust-silk decode` can produce (Hz).
pub const SILK_SAMPLE_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// How to run the SILK decoder.
#[derive(Debug, Clone)]
pub struct SilkOptions {
    /// The `rust-silk` executable (a path, or a name looked up in `PATH`).
    pub decoder: PathBuf,
    /// Output sample rate in Hz; one of [`SILK_SAMPLE_RATES`]. WeChat records at 24000.
    pub sample_rate: u32,
    /// False to refuse SILK input instead of decoding it.
    pub enabled: bool,
}

impl Default for SilkOptions {
    fn default() -> Self {
        SilkOptions {
            decoder: PathBuf::from("rust-silk"),
            sample_rate: 24_000,
            enabled: true,
        }
    }
}

/// The `rust-silk` row of the external decoder table.
///
/// # Errors
/// [`CodecError::Unsupported`] when SILK decoding is disabled, [`CodecError::InvalidOption`] for a
/// sample rate `rust-silk` cannot produce.
pub(crate) fn command(
    container: Container,
    opts: &SilkOptions,
) -> Result<ExternalCommand, CodecError> {
    if !opts.enabled {
        return Err(CodecError::Unsupported {
            container,
            reason: "SILK decoding is disabled (--no-silk-decode)".into(),
        });
    }
    if !SILK_SAMPLE_RATES.contains(&opts.sample_rate) {
        return Err(CodecError::InvalidOption(format!(
            "the SILK sample rate must be one of {SILK_SAMPLE_RATES:?} Hz, not {}",
            opts.sample_rate
        )));
    }
    let rate = opts.sample_rate.to_string();
    Ok(ExternalCommand {
        name: "rust-silk",
        program: opts.decoder.clone(),
        args: [
            "decode",
            "-i",
            "-",
            "-o",
            "-",
            "--sample-rate",
            &rate,
            "--quiet",
        ]
        .into_iter()
        .map(Into::into)
        .collect(),
        spec: PcmSpec {
            sample_rate: opts.sample_rate,
            channels: 1,
        },
        codec: "silk",
        install: "cargo install rust-silk --version 0.1.4",
    })
}
