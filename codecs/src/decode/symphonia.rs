//! Everything symphonia 0.6 demuxes, decoded by symphonia's own codecs, or by libopus for Opus.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{
    MediaSource, MediaSourceStream, MediaSourceStreamOptions, ReadOnlySource,
};
use symphonia::core::meta::MetadataOptions;

use super::opus::{pre_skip_from_head, OpusPackets};
use super::{PcmSource, PcmSpec};
use crate::error::CodecError;
use crate::input::{SniffedInput, Source};
use crate::sniff::Container;

/// Decode errors tolerated before the first good packet: past this the data is not audio.
const MAX_LEADING_BAD_PACKETS: u32 = 64;

enum Decoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(OpusPackets),
}

/// A symphonia demuxer with its decoder, yielding interleaved `f32` blocks.
pub(crate) struct SymphoniaSource {
    format: Box<dyn FormatReader>,
    track_id: u32,
    decoder: Decoder,
    container: Container,
    codec: String,
    spec: PcmSpec,
    block: Vec<f32>,
    finished: bool,
    frames: u64,
    /// Frames the container announces, where that figure is trustworthy (codecs.md §7.2).
    announced: Option<u64>,
    good_packets: u64,
    bad_packets: u32,
    /// Leading frames still to drop (AAC priming in MP4, which symphonia does not trim).
    skip_left: usize,
    /// Frames the container's header gives, for progress (any container).
    num_frames: Option<u64>,
    /// Set when reading the input itself failed (see [`Watched`]).
    io_failed: Arc<AtomicBool>,
}

/// The input reader, recording whether a read failed. symphonia reports both a failed read of
/// the input and its own bit reader running out inside a damaged packet ("unexpected end of
/// bitstream") as `IoError`; only the first is an I/O error (ours), the second is corrupt data
/// (the input's fault: exit 3, HTTP 400).
struct Watched<R> {
    inner: R,
    failed: Arc<AtomicBool>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        if let Err(e) = &result {
            if e.kind() != ErrorKind::Interrupted {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
        result
    }
}

impl<R: Seek> Seek for Watched<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let result = self.inner.seek(pos);
        if result.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl MediaSource for Watched<File> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.metadata().ok().map(|m| m.len())
    }
}

/// AAC-LC encoder delay: one 1024-frame priming block (ISO/IEC 14496-3; what the MP4 edit list
/// that ffmpeg applies removes).
const AAC_PRIMING_FRAMES: usize = 1024;

/// Why [`SymphoniaSource::open`] failed.
pub(crate) enum OpenError {
    /// The container demuxes but symphonia has no decoder for its codec; `spec` is the track's
    /// format as the container gives it (0 where it does not).
    NoDecoder { spec: PcmSpec, error: CodecError },
    /// Anything else.
    Other(CodecError),
}

impl From<CodecError> for OpenError {
    fn from(e: CodecError) -> Self {
        OpenError::Other(e)
    }
}

/// symphonia's error as ours. `io_failed`: whether the input reader itself failed.
fn map_err(container: Container, e: SymError, io_failed: bool) -> CodecError {
    match e {
        SymError::IoError(io) if io_failed => CodecError::Io(io),
        SymError::Unsupported(what) => CodecError::Unsupported {
            container,
            reason: what.to_string(),
        },
        other => CodecError::corrupt(container, other),
    }
}

impl SymphoniaSource {
    pub(crate) fn open(input: SniffedInput) -> Result<Self, OpenError> {
        let container = input.container;
        let io_failed = Arc::new(AtomicBool::new(false));
        let failed = io_failed.clone();
        let media: Box<dyn MediaSource> = match input.into_source() {
            Source::File(inner) => Box::new(Watched { inner, failed }),
            Source::Stream(inner) => Box::new(ReadOnlySource::new(Watched { inner, failed })),
        };
        let io_err = |e| map_err(container, e, io_failed.load(Ordering::Relaxed));
        let mss = MediaSourceStream::new(media, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        hint.with_extension(container.extension());
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                // The bytes were sniffed as this container, so a demuxer that cannot find its
                // headers ("missing moov atom") is looking at a damaged or cut-off file.
                SymError::Unsupported(what) => CodecError::corrupt(
                    container,
                    format!("{what} (the file is damaged or truncated)"),
                ),
                other => io_err(other),
            })?;
        let track = match format.default_track(TrackType::Audio) {
            Some(track) => track.clone(),
            // Tracks whose codec symphonia does not know are not typed as audio (AMR in 3GP).
            None if !format.tracks().is_empty() => {
                return Err(OpenError::NoDecoder {
                    spec: PcmSpec {
                        sample_rate: 0,
                        channels: 0,
                    },
                    error: CodecError::Unsupported {
                        container,
                        reason: "no track in a codec symphonia decodes".into(),
                    },
                })
            }
            None => return Err(CodecError::corrupt(container, "no audio track").into()),
        };
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| {
                CodecError::corrupt(container, "the audio track has no codec parameters")
            })?;
        let track_id = track.id;
        let announced = match container {
            Container::Wav
            | Container::Aiff
            | Container::Aifc
            | Container::Flac
            | Container::Mp3
            // The sample table of a cut-off MP4 still lists every sample (fragmented files
            // announce 0, filtered out below).
            | Container::Mp4 => track
                .num_frames
                .filter(|&n| n > 0 && n < u64::from(u32::MAX)),
            _ => None,
        };
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        let (decoder, codec) = if params.codec == CODEC_ID_OPUS {
            let head = params.extra_data.as_deref().unwrap_or_default();
            let pre_skip = track
                .delay
                .map(|d| d as usize)
                .or_else(|| pre_skip_from_head(head))
                .unwrap_or(0);
            let channels = if channels > 0 {
                channels
            } else {
                head.get(9).map_or(1, |&c| c as usize)
            };
            (
                Decoder::Opus(OpusPackets::new(channels, pre_skip, container)?),
                "opus".to_owned(),
            )
        } else {
            let dec = match symphonia::default::get_codecs()
                .make_audio_decoder(params, &AudioDecoderOptions::default())
            {
                Ok(dec) => dec,
                Err(SymError::Unsupported(what)) => {
                    return Err(OpenError::NoDecoder {
                        spec: PcmSpec {
                            sample_rate: params.sample_rate.unwrap_or(0),
                            channels: channels as u16,
                        },
                        error: CodecError::Unsupported {
                            container,
                            reason: what.to_string(),
                        },
                    })
                }
                Err(e) => return Err(io_err(e).into()),
            };
            let name = dec.codec_info().short_name.to_owned();
            (Decoder::Symphonia(dec), name)
        };
        let mut source = SymphoniaSource {
            format,
            track_id,
            decoder,
            container,
            codec,
            spec: PcmSpec {
                sample_rate: params.sample_rate.unwrap_or(0),
                channels: channels as u16,
            },
            block: Vec::new(),
            finished: false,
            frames: 0,
            announced,
            good_packets: 0,
            bad_packets: 0,
            skip_left: 0,
            num_frames: track
                .num_frames
                .filter(|&n| n > 0 && n < u64::from(u32::MAX)),
            io_failed,
        };
        if container == Container::Mp4 && source.codec == "aac" {
            source.skip_left = AAC_PRIMING_FRAMES;
        }
        Ok(source)
    }

    /// Decode packets until one yields samples (into `self.block`); false at the end. The first
    /// block fixes the stream's [`PcmSpec`] (codec parameters may not carry it).
    fn decode_next(&mut self) -> Result<bool, CodecError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(false),
                // WAV with 0xFFFFFFFF sizes and Matroska from a pipe end this way (§7.3).
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Ok(false)
                }
                // A chained Ogg stream starts a new logical stream: we decode the first only.
                Err(SymError::ResetRequired) => return Ok(false),
                Err(e) => return Err(self.map_err(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let (rate, channels) = match &mut self.decoder {
                Decoder::Opus(opus) => {
                    match opus.decode(&packet.data, packet.trim_end.get() as usize) {
                        Ok(samples) => {
                            self.block.clear();
                            self.block.extend_from_slice(samples);
                            (48_000, self.spec.channels.max(1))
                        }
                        Err(e) => {
                            self.note_bad_packet(e)?;
                            continue;
                        }
                    }
                }
                Decoder::Symphonia(dec) => match dec.decode(&packet) {
                    Ok(buf) => {
                        let spec = buf.spec();
                        let (rate, channels) = (spec.rate(), spec.channels().count() as u16);
                        buf.copy_to_vec_interleaved(&mut self.block);
                        (rate, channels)
                    }
                    Err(SymError::DecodeError(e)) => {
                        self.note_bad_packet(CodecError::corrupt(self.container, e))?;
                        continue;
                    }
                    // The decoder accepted the stream's parameters, so a packet that asks for
                    // a feature it lacks is damaged data, not an unsupported format.
                    Err(SymError::Unsupported(what)) => {
                        return Err(CodecError::corrupt(
                            self.container,
                            format!("a packet needs an unsupported feature ({what})"),
                        ))
                    }
                    Err(e) => return Err(self.map_err(e)),
                },
            };
            self.good_packets += 1;
            if self.skip_left > 0 {
                let drop = self
                    .skip_left
                    .min(self.block.len() / channels.max(1) as usize);
                self.skip_left -= drop;
                self.block.drain(..drop * channels.max(1) as usize);
            }
            if self.block.is_empty() {
                continue;
            }
            if self.frames == 0 {
                self.spec = PcmSpec {
                    sample_rate: rate,
                    channels,
                };
            } else if self.spec
                != (PcmSpec {
                    sample_rate: rate,
                    channels,
                })
            {
                return Err(CodecError::Unsupported {
                    container: self.container,
                    reason: format!(
                        "the format changes mid-stream ({} Hz × {} → {rate} Hz × {channels})",
                        self.spec.sample_rate, self.spec.channels
                    ),
                });
            }
            self.frames += (self.block.len() / channels.max(1) as usize) as u64;
            return Ok(true);
        }
    }

    fn map_err(&self, e: SymError) -> CodecError {
        map_err(self.container, e, self.io_failed.load(Ordering::Relaxed))
    }

    /// A damaged packet is skipped, as players do, unless nothing good has come yet for long.
    fn note_bad_packet(&mut self, e: CodecError) -> Result<(), CodecError> {
        self.bad_packets += 1;
        if self.good_packets == 0 && self.bad_packets > MAX_LEADING_BAD_PACKETS {
            return Err(e);
        }
        Ok(())
    }

    /// At the end: a stream that decoded to much less than its header announced was cut off.
    fn check_complete(&self) -> Result<(), CodecError> {
        match self.announced {
            // 10 % slack: MP3 Xing counts and decoder delay handling differ slightly.
            Some(expected) if self.frames * 10 < expected * 9 => Err(CodecError::Truncated {
                container: self.container,
                expected_frames: expected,
                decoded_frames: self.frames,
            }),
            _ => Ok(()),
        }
    }
}

impl PcmSource for SymphoniaSource {
    fn spec(&self) -> PcmSpec {
        self.spec
    }

    fn codec_name(&self) -> &str {
        &self.codec
    }

    fn announced_frames(&self) -> Option<u64> {
        self.num_frames
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>, CodecError> {
        if self.finished {
            return Ok(None);
        }
        match self.decode_next() {
            Ok(true) => Ok(Some(&self.block)),
            Ok(false) => {
                self.finished = true;
                self.check_complete()?;
                Ok(None)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }
}
