//! Decoding: sniffed bytes → interleaved `f32` PCM blocks.
//!
//! | container | decoder |
//! |---|---|
//! | WAV, RF64, AIFF/AIFC, CAF, FLAC, Ogg Vorbis/FLAC, MP3, MP4/M4A (AAC, ALAC), ADTS, Matroska/WebM (Vorbis, AAC) | symphonia 0.6 |
//! | Ogg Opus, WebM/Matroska Opus | symphonia demuxer + libopus (audiopus), pre-skip and end trim applied |
//! | SILK v3, Tencent/WeChat SILK | the external `rust-silk` program over pipes ([`silk`]) |
//! | AMR-NB, AMR-WB, Ogg Speex, Ogg with another codec; a file whose container symphonia reads but whose codec it cannot decode (AMR in 3GP, ...) | the external `ffmpeg` program over pipes ([`ffmpeg`]) |
//! | raw PCM | [`raw`], with the caller's declared [`RawPcmFormat`] |
//!
//! The external programs form one table (the private `external` module): each is run directly (no shell), fed
//! through its stdin and read from its stdout; a missing program is
//! [`CodecError::DecoderMissing`] naming it and how to install it.

mod external;
pub mod ffmpeg;
mod opus;
pub mod raw;
pub mod silk;
mod symphonia;

use crate::error::CodecError;
use crate::input::SniffedInput;
use crate::sniff::{Codec, Container};

pub use ffmpeg::FfmpegOptions;
pub use raw::{PcmEncoding, RawPcmFormat};
pub use silk::SilkOptions;

/// Sample rate and channel count of a PCM stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmSpec {
    /// Frames per second (Hz).
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: u16,
}

/// A decoder that yields interleaved `f32` samples in `[-1, 1]`, one block at a time.
pub trait PcmSource: Send {
    /// The stream's format; constant for the whole stream.
    fn spec(&self) -> PcmSpec;
    /// Short codec name as reported by the decoder (`mp3`, `aac`, `pcm_s16le`, `opus`, `silk`, ...).
    fn codec_name(&self) -> &str;
    /// The next block of interleaved samples (`frames * channels` values), or `None` at the end.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a failed external decoder. After an error the source is
    /// finished; what it yielded before is not a complete decode.
    fn next_block(&mut self) -> Result<Option<&[f32]>, CodecError>;
    /// Frames (per channel) the container announces for the whole stream, when it says so
    /// (an estimate for progress displays, not a truncation check).
    fn announced_frames(&self) -> Option<u64> {
        None
    }
}

/// How to decode inputs that need more than their bytes.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// How to run the SILK decoder.
    pub silk: SilkOptions,
    /// The format of headerless PCM, when the caller declares it.
    pub raw_pcm: Option<RawPcmFormat>,
    /// How to run ffmpeg for AMR, Speex and other containers nothing built in decodes.
    pub ffmpeg: FfmpegOptions,
}

/// Open the decoder for a sniffed input. The first block is decoded here, so a stream that
/// cannot be decoded at all (a file `rust-silk` rejects, a container with no audio packet) fails
/// before anything is produced.
///
/// # Errors
/// [`CodecError::Unsupported`] for containers nothing here decodes, [`CodecError::Corrupt`] when
/// no block decodes, the demuxer's or decoder's error otherwise.
pub fn open(input: SniffedInput, opts: &DecodeOptions) -> Result<Box<dyn PcmSource>, CodecError> {
    let container = input.container;
    let mut inner = open_source(input, opts)?;
    let first = match inner.next_block()? {
        Some(block) => block.to_vec(),
        None => {
            return Err(CodecError::corrupt(
                container,
                "the stream holds no decodable audio",
            ))
        }
    };
    Ok(Box::new(Primed {
        inner,
        first,
        pending: true,
    }))
}

/// A source whose first block [`open`] already decoded; it is handed out first.
struct Primed {
    inner: Box<dyn PcmSource>,
    first: Vec<f32>,
    pending: bool,
}

impl PcmSource for Primed {
    fn spec(&self) -> PcmSpec {
        self.inner.spec()
    }

    fn codec_name(&self) -> &str {
        self.inner.codec_name()
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>, CodecError> {
        if std::mem::take(&mut self.pending) {
            return Ok(Some(&self.first));
        }
        self.inner.next_block()
    }

    fn announced_frames(&self) -> Option<u64> {
        self.inner.announced_frames()
    }
}

fn open_source(
    input: SniffedInput,
    opts: &DecodeOptions,
) -> Result<Box<dyn PcmSource>, CodecError> {
    match input.container {
        Container::Silk | Container::SilkTencent => {
            let command = silk::command(input.container, &opts.silk)?;
            Ok(Box::new(external::ExternalSource::spawn(input, command)?))
        }
        Container::RawPcm => {
            let format = opts.raw_pcm.ok_or_else(|| {
                CodecError::InvalidOption(
                    "raw PCM needs its sample rate, channels and encoding".into(),
                )
            })?;
            Ok(Box::new(raw::RawSource::new(input, format)?))
        }
        Container::AmrNb | Container::AmrWb | Container::OggSpeex | Container::Ogg => {
            let command = ffmpeg::command(input.container, input.head(), &opts.ffmpeg, None)?;
            Ok(Box::new(external::ExternalSource::spawn(input, command)?))
        }
        // An MP4 / 3GP whose sample entry is visible and names a codec symphonia lacks (AMR in
        // a faststart 3GP voice memo): straight to ffmpeg, which also works from a stream.
        Container::Mp4 if input.codec == Some(Codec::Other) && opts.ffmpeg.enabled => {
            let spec = ffmpeg::mp4_spec(input.head()).or_else(|| {
                let file = input.file_clone()?;
                ffmpeg::mp4_file_spec(&file, input.container)
            });
            let command = ffmpeg::command(input.container, input.head(), &opts.ffmpeg, spec)?;
            Ok(Box::new(external::ExternalSource::spawn(input, command)?))
        }
        _ => {
            // A file can be read again: when symphonia demuxes it but has no decoder for its
            // codec (AMR in a 3GP voice memo, ...), ffmpeg gets it from the start.
            let again = input.file_clone();
            let (container, codec, head) = (input.container, input.codec, input.head().to_vec());
            match symphonia::SymphoniaSource::open(input) {
                Ok(source) => Ok(Box::new(source)),
                Err(symphonia::OpenError::Other(e)) => Err(e),
                Err(symphonia::OpenError::NoDecoder { spec, error }) => match again {
                    Some(mut file) if opts.ffmpeg.enabled => {
                        use std::io::{Seek, SeekFrom};
                        file.seek(SeekFrom::Start(0))?;
                        let spec = (spec.sample_rate > 0 && spec.channels > 0)
                            .then_some(spec)
                            .or_else(|| ffmpeg::mp4_file_spec(&file, container));
                        let command = ffmpeg::command(container, &head, &opts.ffmpeg, spec)?;
                        let input = SniffedInput::from_file(container, codec, head, file);
                        Ok(Box::new(external::ExternalSource::spawn(input, command)?))
                    }
                    _ => Err(error),
                },
            }
        }
    }
}

/// Decode everything and count it: what `probe` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeSummary {
    /// Format of the decoded PCM.
    pub spec: PcmSpec,
    /// Codec short name.
    pub codec: String,
    /// Frames (samples per channel) decoded.
    pub frames: u64,
}

impl DecodeSummary {
    /// Decoded duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.spec.sample_rate)
    }
}

/// Drain a source, counting frames.
///
/// # Errors
/// Whatever the source returns.
pub fn drain(source: &mut dyn PcmSource) -> Result<DecodeSummary, CodecError> {
    let spec = source.spec();
    let mut samples = 0u64;
    while let Some(block) = source.next_block()? {
        samples += block.len() as u64;
    }
    Ok(DecodeSummary {
        spec,
        codec: source.codec_name().to_owned(),
        frames: samples / u64::from(spec.channels.max(1)),
    })
}
