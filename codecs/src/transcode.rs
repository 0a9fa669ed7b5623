//! The planned chain: sniff → (passthrough | decode → remix → resample → encode) → sink.
//!
//! [`Transcoder::open`] sniffs the input, decides the [`Plan`] and opens the decoder (decoding
//! the first packet), so bad input fails before any byte is written and the caller knows the
//! output's MIME type and file name up front (for a multipart header). [`Transcoder::run`] then
//! pulls from the input and pushes encoded chunks into a [`Write`] sink as they are produced;
//! memory stays bounded by the sniff window, one decoded block and one Ogg page, whatever the
//! input's length. It is synchronous: async callers run it on a blocking thread.

use std::io::{self, Read, Write};

use crate::decode::{self, DecodeOptions, PcmSource, PcmSpec};
use crate::encode::ogg_opus::{OggOpusEncoder, OpusSettings};
use crate::encode::wav::WavEncoder;
use crate::encode::Encoder;
use crate::error::CodecError;
use crate::input::{Input, SniffedInput, Source};
use crate::resample::{remix, StreamResampler};
use crate::sniff::{Codec, Container};
use crate::verify::{CheckHandle, StreamCheck};

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// Pass through what the dictation endpoint accepts as it is (WAV integer PCM, MP3, MP4
    /// AAC, FLAC, Ogg Opus, WebM Opus); convert everything else to Ogg Opus.
    #[default]
    Auto,
    /// Always convert to WAV s16le.
    Wav,
    /// Always convert to Ogg Opus.
    Opus,
    /// Never convert: the bytes go out as they came in.
    Passthrough,
}

impl std::str::FromStr for Target {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Target::Auto),
            "wav" => Ok(Target::Wav),
            "opus" => Ok(Target::Opus),
            "passthrough" => Ok(Target::Passthrough),
            other => Err(CodecError::InvalidOption(format!(
                "unknown target {other:?} (use auto, wav, opus or passthrough)"
            ))),
        }
    }
}

/// Options of the chain.
#[derive(Debug, Clone)]
pub struct TranscodeOptions {
    /// What to produce.
    pub target: Target,
    /// Output sample rate in Hz for converted output (Opus needs 8/12/16/24/48 kHz).
    pub sample_rate: u32,
    /// Output channels for converted output (1 or 2).
    pub channels: u16,
    /// Opus bitrate and complexity.
    pub opus: OpusSettings,
    /// SILK and raw-PCM decoding options.
    pub decode: DecodeOptions,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        TranscodeOptions {
            target: Target::Auto,
            sample_rate: 24_000,
            channels: 1,
            opus: OpusSettings::default(),
            decode: DecodeOptions::default(),
        }
    }
}

/// The container of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The input bytes, unchanged.
    Passthrough(Container),
    /// WAV s16le at the given format.
    Wav(PcmSpec),
    /// Ogg Opus at the given format.
    OggOpus(PcmSpec),
}

/// What [`Transcoder::run`] will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// What the input bytes are.
    pub input: Container,
    /// What they will become.
    pub output: Output,
}

impl Plan {
    /// MIME type of the output bytes.
    pub fn mime_type(&self) -> &'static str {
        match self.output {
            Output::Passthrough(c) => c.mime_type(),
            Output::Wav(_) => "audio/wav",
            Output::OggOpus(_) => "audio/ogg",
        }
    }

    /// File extension of the output (no dot).
    pub fn extension(&self) -> &'static str {
        match self.output {
            Output::Passthrough(c) => c.extension(),
            Output::Wav(_) => "wav",
            Output::OggOpus(_) => "ogg",
        }
    }

    /// True when the input is sent as it is.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.output, Output::Passthrough(_))
    }
}

/// True when the dictation endpoint takes these bytes as they are (protocols.md §3).
pub fn accepted_as_is(container: Container, codec: Option<Codec>) -> bool {
    match container {
        Container::Wav => matches!(codec, Some(Codec::PcmS16Le | Codec::PcmInt)),
        Container::Mp3 | Container::Flac | Container::OggOpus => true,
        Container::Mp4 => codec == Some(Codec::Aac),
        Container::WebM => codec == Some(Codec::Opus),
        _ => false,
    }
}

/// What a finished run produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The plan that ran.
    pub plan: Plan,
    /// Bytes written to the sink.
    pub bytes_out: u64,
    /// Decoded input duration in seconds (`None` for passthrough, which does not decode).
    pub duration_seconds: Option<f64>,
    /// Frames written, for converted output.
    pub frames_out: Option<u64>,
}

enum Stage {
    Passthrough {
        source: Source,
        /// Decode the bytes on a second thread while they pass (`Target::Auto`).
        verify: Option<DecodeOptions>,
    },
    Convert {
        source: Box<dyn PcmSource>,
        encoder: Box<dyn Encoder>,
        resampler: Box<StreamResampler>,
        out_channels: usize,
        /// The container check of a decoded Ogg / WebM stream.
        check: Option<CheckHandle>,
    },
}

/// An opened chain, ready to run.
pub struct Transcoder {
    plan: Plan,
    stage: Stage,
}

impl Transcoder {
    /// Sniff `input`, plan, and open the decoder.
    ///
    /// # Errors
    /// Unknown, empty, unsupported or undecodable input; invalid options.
    pub fn open(input: Input, opts: &TranscodeOptions) -> Result<Self, CodecError> {
        let sniffed = SniffedInput::open(input, opts.decode.raw_pcm.is_some())?;
        let container = sniffed.container;
        let pass = match opts.target {
            Target::Passthrough => true,
            Target::Auto => accepted_as_is(container, sniffed.codec),
            Target::Wav | Target::Opus => false,
        };
        if pass {
            return Ok(Transcoder {
                plan: Plan {
                    input: container,
                    output: Output::Passthrough(container),
                },
                stage: Stage::Passthrough {
                    source: sniffed.into_source(),
                    verify: (opts.target == Target::Auto).then(|| opts.decode.clone()),
                },
            });
        }
        if !(1..=2).contains(&opts.channels) {
            return Err(CodecError::InvalidOption(format!(
                "output channels must be 1 or 2, not {}",
                opts.channels
            )));
        }
        let spec = PcmSpec {
            sample_rate: opts.sample_rate,
            channels: opts.channels,
        };
        let (output, encoder): (Output, Box<dyn Encoder>) = match opts.target {
            Target::Wav => {
                if !(1000..=384_000).contains(&spec.sample_rate) {
                    return Err(CodecError::InvalidOption(format!(
                        "WAV sample rate must be 1000..=384000 Hz, not {}",
                        spec.sample_rate
                    )));
                }
                (Output::Wav(spec), Box::new(WavEncoder::new(spec)))
            }
            _ => (
                Output::OggOpus(spec),
                Box::new(OggOpusEncoder::new(spec, opts.opus, serial_for(container))?),
            ),
        };
        let mut sniffed = sniffed;
        let check = sniffed.watch_truncation()?;
        let source = decode::open(sniffed, &opts.decode)?;
        let input_spec = source.spec();
        let resampler = StreamResampler::new(
            input_spec.sample_rate,
            spec.sample_rate,
            usize::from(spec.channels),
        )?;
        Ok(Transcoder {
            plan: Plan {
                input: container,
                output,
            },
            stage: Stage::Convert {
                source,
                encoder,
                resampler: Box::new(resampler),
                out_channels: usize::from(spec.channels),
                check,
            },
        })
    }

    /// The plan: input container, output container, MIME type, extension.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The decoder's codec name, when the input is decoded.
    pub fn input_codec(&self) -> Option<&str> {
        match &self.stage {
            Stage::Convert { source, .. } => Some(source.codec_name()),
            Stage::Passthrough { .. } => None,
        }
    }

    /// Run to the end, writing output chunks to `sink` as they are produced.
    ///
    /// # Errors
    /// Decoder failures (including a truncated input or a failed `rust-silk`, detected at the
    /// end of the stream: what was written before is then incomplete) and sink write errors.
    pub fn run<W: Write + ?Sized>(self, sink: &mut W) -> Result<Summary, CodecError> {
        let plan = self.plan;
        match self.stage {
            Stage::Passthrough { mut source, verify } => {
                let check = verify
                    .is_some()
                    .then(|| StreamCheck::for_container(plan.input))
                    .flatten();
                let verifier = verify.map(Verifier::spawn);
                let (bytes_out, verified) = copy(&mut source, sink, verifier, check)?;
                sink.flush()?;
                Ok(Summary {
                    plan,
                    bytes_out,
                    duration_seconds: verified.map(|d| d.duration_seconds()),
                    frames_out: None,
                })
            }
            Stage::Convert {
                mut source,
                mut encoder,
                mut resampler,
                out_channels,
                check,
            } => {
                let in_spec = source.spec();
                let in_channels = usize::from(in_spec.channels);
                let (mut mixed, mut resampled, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
                let (mut frames_in, mut frames_out, mut bytes_out) = (0u64, 0u64, 0u64);
                let mut emit = |bytes: &mut Vec<u8>, sink: &mut W| -> io::Result<()> {
                    if !bytes.is_empty() {
                        sink.write_all(bytes)?;
                        bytes_out += bytes.len() as u64;
                        bytes.clear();
                    }
                    Ok(())
                };
                while let Some(block) = source.next_block()? {
                    frames_in += (block.len() / in_channels) as u64;
                    mixed.clear();
                    remix(block, in_channels, out_channels, &mut mixed);
                    resampled.clear();
                    resampler.push(&mixed, &mut resampled)?;
                    frames_out += (resampled.len() / out_channels) as u64;
                    encoder.encode(&resampled, &mut bytes)?;
                    emit(&mut bytes, sink)?;
                }
                if let Some(check) = &check {
                    check.finish()?;
                }
                resampled.clear();
                resampler.finish(&mut resampled)?;
                frames_out += (resampled.len() / out_channels) as u64;
                encoder.encode(&resampled, &mut bytes)?;
                encoder.finish(&mut bytes)?;
                emit(&mut bytes, sink)?;
                sink.flush()?;
                Ok(Summary {
                    plan,
                    bytes_out,
                    duration_seconds: Some(frames_in as f64 / f64::from(in_spec.sample_rate)),
                    frames_out: Some(frames_out),
                })
            }
        }
    }
}

/// A stable Ogg serial number per input kind (deterministic output for golden tests).
fn serial_for(container: Container) -> u32 {
    0x636f_6400
        ^ container
            .name()
            .bytes()
            .fold(0u32, |h, b| h.rotate_left(5) ^ u32::from(b))
}

/// Copy `source` to `sink` in 64 KiB chunks, handing each chunk to the verifier and the
/// container check too; returns the bytes copied and the verifier's decode summary. A verifier
/// or check error (truncated, corrupt) fails the copy at the end, after every byte was written:
/// the caller must not treat what the sink received as a complete file.
fn copy<W: Write + ?Sized>(
    source: &mut Source,
    sink: &mut W,
    mut verifier: Option<Verifier>,
    mut check: Option<StreamCheck>,
) -> Result<(u64, Option<decode::DecodeSummary>), CodecError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        sink.write_all(&buf[..n])?;
        if let Some(v) = &mut verifier {
            v.feed(&buf[..n]);
        }
        if let Some(c) = &mut check {
            c.feed(&buf[..n]);
        }
        total += n as u64;
    }
    let verified = verifier.map(Verifier::finish).transpose()?;
    if let Some(c) = &check {
        c.finish()?;
    }
    Ok((total, verified))
}

/// Decodes passthrough bytes on its own thread, fed through a bounded channel: the check that
/// an input sent as it is decodes to the end (a truncated MP3 otherwise reaches the endpoint as
/// if it were whole), and its exact duration.
struct Verifier {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    handle: std::thread::JoinHandle<Result<decode::DecodeSummary, CodecError>>,
}

/// A `Read` over chunks arriving on a channel (`Mutex` for the `Sync` symphonia requires).
struct ChannelReader {
    rx: std::sync::Mutex<std::sync::mpsc::Receiver<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            let next = self
                .rx
                .lock()
                .map_err(|_| io::Error::other("verifier channel poisoned"))?
                .recv();
            match next {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Verifier {
    fn spawn(opts: DecodeOptions) -> Verifier {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let reader = ChannelReader {
            rx: std::sync::Mutex::new(rx),
            chunk: Vec::new(),
            pos: 0,
        };
        let handle = std::thread::spawn(move || {
            let sniffed = SniffedInput::open(Input::stream(reader), opts.raw_pcm.is_some())?;
            let mut source = decode::open(sniffed, &opts)?;
            decode::drain(source.as_mut())
        });
        Verifier {
            tx: Some(tx),
            handle,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        // A verifier that stopped early has its error waiting in `finish`.
        if let Some(tx) = &self.tx {
            if tx.send(chunk.to_vec()).is_err() {
                self.tx = None;
            }
        }
    }

    fn finish(mut self) -> Result<decode::DecodeSummary, CodecError> {
        self.tx = None;
        self.handle.join().map_err(|_| CodecError::DecoderFailed {
            decoder: "verifier".into(),
            message: "the verifying decoder thread panicked".into(),
        })?
    }
}

/// What `probe` reports about an input.
#[derive(Debug)]
pub struct ProbeReport {
    /// What the bytes are.
    pub container: Container,
    /// Decoded format, codec name and exact length, or why decoding failed.
    pub decoded: Result<decode::DecodeSummary, CodecError>,
}

/// Sniff and fully decode `input`, counting its frames (exact duration, and the truncation
/// check at the end).
///
/// # Errors
/// Only when the container cannot be identified (empty or unknown bytes) or reading fails;
/// a recognised container that fails to decode is reported in [`ProbeReport::decoded`].
pub fn probe(input: Input, opts: &DecodeOptions) -> Result<ProbeReport, CodecError> {
    let sniffed = SniffedInput::open(input, opts.raw_pcm.is_some())?;
    let container = sniffed.container;
    let decoded = decode::open(sniffed, opts).and_then(|mut source| decode::drain(source.as_mut()));
    Ok(ProbeReport { container, decoded })
}
