//! Audio sniffing, decoding, resampling and encoding for codex-pipe, usable on its own.
//!
//! ```text
//! Input (file | stream) ─► sniff ─► decode (symphonia | libopus | rust-silk | raw PCM)
//!     ─► remix ─► resample (rubato Fft) ─► encode (WAV s16le | Ogg Opus) ─► impl Write
//! ```
//!
//! | stage | module | notes |
//! |---|---|---|
//! | sniffing | [`sniff`](mod@sniff) | one declarative magic-byte table; extensions and MIME types are never used |
//! | input | [`input`] | replays the sniffed prefix; spools MP4-with-`moov`-at-end and CAF streams to a temp file |
//! | decoding | [`decode`] | symphonia 0.6; Opus packets through libopus; SILK through the `rust-silk` program |
//! | resampling | [`resample`] | exact output length `ceil(n·out/in)`, filter delay trimmed |
//! | encoding | [`encode`] | WAV (streaming header), Ogg Opus per RFC 7845 |
//! | the chain | [`transcode`] | passthrough of what the dictation endpoint accepts, otherwise convert |
//! | long audio | [`segment`], [`split`], [`window`] | cut at pauses (frame energy against an adaptive noise floor), one encoded file per segment; the PCM window spooled to disk past 128 KiB |
//! | checks | [`verify`] | Ogg page and EBML element framing: a cut-off passthrough input is an error |
//!
//! Everything is synchronous and streaming: [`Transcoder::run`] pulls from a `Read` and pushes
//! encoded chunks to a `Write` as they are produced, in memory that does not grow with the
//! input. Async callers run it on a blocking thread. Every failure is a [`CodecError`]; no input
//! makes it panic (see the fuzz targets in `fuzz/`).
//!
//! ```no_run
//! use codex_pipe_codecs::{Input, Target, TranscodeOptions, Transcoder};
//! let file = std::fs::File::open("voice.silk")?;
//! let opts = TranscodeOptions { target: Target::Opus, ..TranscodeOptions::default() };
//! let chain = Transcoder::open(Input::File(file), &opts)?;
//! println!("{} → {}", chain.plan().input, chain.plan().mime_type());
//! let summary = chain.run(&mut std::io::stdout().lock())?;
//! eprintln!("{:?} s", summary.duration_seconds);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod decode;
pub mod encode;
pub mod error;
pub mod input;
pub mod resample;
pub mod segment;
pub mod sniff;
pub mod split;
pub mod transcode;
pub mod verify;
pub mod window;

pub use decode::{DecodeOptions, FfmpegOptions, PcmEncoding, PcmSpec, RawPcmFormat, SilkOptions};
pub use encode::ogg_opus::OpusSettings;
pub use error::CodecError;
pub use input::Input;
pub use segment::SegmentOptions;
pub use sniff::{sniff, Codec, Container, Sniffed};
pub use split::{EncodedSegment, SegmentSink, SplitSummary, Splitter};
pub use transcode::{
    probe, Output, Plan, ProbeReport, Summary, Target, TranscodeOptions, Transcoder,
};
