//! Codec options shared by `convert` and `transcribe`, with `CODEX_PIPE_*` environment fallbacks.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use codex_pipe_codecs::{
    DecodeOptions, FfmpegOptions, OpusSettings, PcmEncoding, RawPcmFormat, SilkOptions, Target,
    TranscodeOptions,
};

/// Output target, as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Pass through what the dictation endpoint accepts; convert the rest to Ogg Opus.
    Auto,
    /// Convert to WAV s16le.
    Wav,
    /// Convert to Ogg Opus.
    Opus,
    /// Never convert.
    Passthrough,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Self {
        match t {
            TargetArg::Auto => Target::Auto,
            TargetArg::Wav => Target::Wav,
            TargetArg::Opus => Target::Opus,
            TargetArg::Passthrough => Target::Passthrough,
        }
    }
}

/// Raw PCM sample encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RawEncodingArg {
    /// Unsigned 8-bit.
    U8,
    /// Signed 16-bit little-endian.
    S16le,
    /// Signed 16-bit big-endian.
    S16be,
    /// Signed 24-bit little-endian.
    S24le,
    /// Signed 32-bit little-endian.
    S32le,
    /// 32-bit float little-endian.
    F32le,
}

impl From<RawEncodingArg> for PcmEncoding {
    fn from(e: RawEncodingArg) -> Self {
        match e {
            RawEncodingArg::U8 => PcmEncoding::U8,
            RawEncodingArg::S16le => PcmEncoding::S16Le,
            RawEncodingArg::S16be => PcmEncoding::S16Be,
            RawEncodingArg::S24le => PcmEncoding::S24Le,
            RawEncodingArg::S32le => PcmEncoding::S32Le,
            RawEncodingArg::F32le => PcmEncoding::F32Le,
        }
    }
}

/// Decoding options: SILK and raw PCM.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// The `rust-silk` executable used to decode SILK v3 and WeChat SILK.
    #[arg(
        long,
        env = "CODEX_PIPE_SILK_DECODER",
        default_value = "rust-silk",
        value_name = "PATH"
    )]
    pub silk_decoder: PathBuf,
    /// Sample rate SILK is decoded at (Hz): 8000, 12000, 16000, 24000 or 48000.
    #[arg(
        long,
        env = "CODEX_PIPE_SILK_SAMPLE_RATE",
        default_value_t = 24_000,
        value_name = "HZ"
    )]
    pub silk_sample_rate: u32,
    /// Refuse SILK input instead of decoding it.
    #[arg(long, env = "CODEX_PIPE_NO_SILK_DECODE")]
    pub no_silk_decode: bool,
    /// The `ffmpeg` executable used for AMR-NB, AMR-WB, Ogg Speex and other containers nothing
    /// built in decodes.
    #[arg(
        long,
        env = "CODEX_PIPE_FFMPEG",
        default_value = "ffmpeg",
        value_name = "PATH"
    )]
    pub ffmpeg: PathBuf,
    /// Refuse those containers instead of running ffmpeg.
    #[arg(long, env = "CODEX_PIPE_NO_FFMPEG")]
    pub no_ffmpeg: bool,
    /// Declare the input as headerless PCM with this sample encoding (needs --raw-rate).
    #[arg(
        long,
        value_enum,
        env = "CODEX_PIPE_RAW_FORMAT",
        requires = "raw_rate",
        value_name = "ENCODING"
    )]
    pub raw_format: Option<RawEncodingArg>,
    /// Sample rate of raw PCM input (Hz).
    #[arg(
        long,
        env = "CODEX_PIPE_RAW_RATE",
        requires = "raw_format",
        value_name = "HZ"
    )]
    pub raw_rate: Option<u32>,
    /// Channels of raw PCM input.
    #[arg(
        long,
        env = "CODEX_PIPE_RAW_CHANNELS",
        default_value_t = 1,
        value_name = "N"
    )]
    pub raw_channels: u16,
}

impl DecodeArgs {
    /// The library options these flags describe.
    pub fn options(&self) -> DecodeOptions {
        DecodeOptions {
            silk: SilkOptions {
                decoder: self.silk_decoder.clone(),
                sample_rate: self.silk_sample_rate,
                enabled: !self.no_silk_decode,
            },
            raw_pcm: match (self.raw_format, self.raw_rate) {
                (Some(encoding), Some(sample_rate)) => Some(RawPcmFormat {
                    encoding: encoding.into(),
                    sample_rate,
                    channels: self.raw_channels,
                }),
                _ => None,
            },
            ffmpeg: FfmpegOptions {
                program: self.ffmpeg.clone(),
                enabled: !self.no_ffmpeg,
            },
        }
    }
}

/// Encoding options: target container, rate, Opus settings.
#[derive(Debug, Clone, Args)]
pub struct EncodeArgs {
    /// Output sample rate for converted audio (Hz; Opus needs 8000/12000/16000/24000/48000).
    #[arg(
        long = "rate",
        env = "CODEX_PIPE_RATE",
        default_value_t = 24_000,
        value_name = "HZ"
    )]
    pub sample_rate: u32,
    /// Output channels for converted audio.
    #[arg(
        long,
        env = "CODEX_PIPE_CHANNELS",
        default_value_t = 1,
        value_name = "N"
    )]
    pub channels: u16,
    /// Opus bitrate (bits per second).
    #[arg(
        long,
        env = "CODEX_PIPE_BITRATE",
        default_value_t = 24_000,
        value_name = "BPS"
    )]
    pub bitrate: u32,
    /// Opus encoder complexity, 0 (fastest) to 10 (best).
    #[arg(
        long,
        env = "CODEX_PIPE_COMPLEXITY",
        default_value_t = 5,
        value_name = "0-10"
    )]
    pub complexity: u8,
}

/// The full chain options from the flags.
pub fn transcode_options(
    target: TargetArg,
    enc: &EncodeArgs,
    dec: &DecodeArgs,
) -> TranscodeOptions {
    TranscodeOptions {
        target: target.into(),
        sample_rate: enc.sample_rate,
        channels: enc.channels,
        opus: OpusSettings {
            bitrate: enc.bitrate,
            complexity: enc.complexity,
        },
        decode: dec.options(),
    }
}
