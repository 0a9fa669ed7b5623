//! Long audio as segments: sniff → decode → remix → resample → [`Cutter`] → one encoded file
//! per segment, handed to a [`SegmentSink`] as soon as it is cut.
//!
//! Memory is bounded by the in-memory part of one window of PCM (128 KiB; the rest of the window,
//! up to `max_seconds` at the output format, 2.9 MB for 30 s of 24 kHz mono `f32`, is spooled to
//! a temporary file: see [`crate::window`]) plus one encoded segment, whatever the input's length; the sink decides
//! how many encoded segments it keeps in flight. Each segment is a complete file on its own
//! (Ogg Opus with its own headers and pre-skip, or WAV with exact sizes), with its position in
//! the input: `start_frame..end_frame` at the output sample rate, so `start / rate` seconds.
//!
//! When the input ends before the first cut (it is not longer than `max_seconds`), the sink is
//! asked whether it takes the whole input itself ([`SegmentSink::take_whole`]): the CLI then
//! keeps its single upload of the original bytes (passthrough included) and nothing is encoded
//! here.

use crate::decode::{self, PcmSource, PcmSpec};
use crate::encode::ogg_opus::OggOpusEncoder;
use crate::encode::wav::{header, to_s16};
use crate::encode::Encoder;
use crate::error::CodecError;
use crate::input::{Input, SniffedInput};
use crate::resample::{remix, StreamResampler};
use crate::segment::{Cutter, SegmentOptions};
use crate::sniff::Container;
use crate::transcode::{Target, TranscodeOptions};
use crate::verify::CheckHandle;

/// One cut segment, encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSegment {
    /// Position in the input, from 0.
    pub index: usize,
    /// First frame, at `sample_rate`, counted from the start of the input.
    pub start_frame: u64,
    /// One past the last frame.
    pub end_frame: u64,
    /// Output sample rate (Hz) the frames are counted in.
    pub sample_rate: u32,
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// Its MIME type (`audio/ogg` or `audio/wav`).
    pub mime_type: &'static str,
    /// Its file extension (`ogg` or `wav`).
    pub extension: &'static str,
}

impl EncodedSegment {
    /// Start time in seconds from the start of the input.
    pub fn start_seconds(&self) -> f64 {
        self.start_frame as f64 / f64::from(self.sample_rate)
    }

    /// End time in seconds from the start of the input.
    pub fn end_seconds(&self) -> f64 {
        self.end_frame as f64 / f64::from(self.sample_rate)
    }
}

/// Where [`Splitter::run`] delivers its segments.
pub trait SegmentSink {
    /// A segment was cut and encoded. Segments arrive in order.
    ///
    /// # Errors
    /// An error stops the run and is returned from it (a sink whose consumer went away).
    fn segment(&mut self, segment: EncodedSegment) -> Result<(), CodecError>;

    /// Seconds of input decoded so far (called after every decoded block).
    fn progress(&mut self, _decoded_seconds: f64) {}

    /// Asked once, at the end, when the input was not longer than `max_seconds` (no cut was
    /// made): `true` means the caller sends the original input itself and the one segment is
    /// not encoded; `false` (the default) delivers it through [`SegmentSink::segment`].
    fn take_whole(&mut self) -> bool {
        false
    }
}

/// What a finished run produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitSummary {
    /// Segments delivered.
    pub segments: usize,
    /// Decoded input duration in seconds.
    pub duration_seconds: f64,
    /// True when the sink took the whole input ([`SegmentSink::take_whole`]).
    pub whole: bool,
}

/// An opened segmenting chain.
pub struct Splitter {
    container: Container,
    source: Box<dyn PcmSource>,
    resampler: StreamResampler,
    spec: PcmSpec,
    wav: bool,
    opts: TranscodeOptions,
    cutter: Cutter,
    check: Option<CheckHandle>,
}

impl Splitter {
    /// Sniff `input`, open its decoder and the resampler to the output format of `opts`
    /// (`Target::Wav` gives WAV segments, anything else Ogg Opus).
    ///
    /// # Errors
    /// Unknown, empty, unsupported or undecodable input; invalid options or bounds.
    pub fn open(
        input: Input,
        opts: &TranscodeOptions,
        bounds: SegmentOptions,
    ) -> Result<Self, CodecError> {
        let spec = PcmSpec {
            sample_rate: opts.sample_rate,
            channels: opts.channels,
        };
        if !(1..=2).contains(&spec.channels) {
            return Err(CodecError::InvalidOption(format!(
                "output channels must be 1 or 2, not {}",
                spec.channels
            )));
        }
        let wav = opts.target == Target::Wav;
        if !wav {
            // Fail on bad Opus settings before decoding anything.
            OggOpusEncoder::new(spec, opts.opus, 0)?;
        }
        let cutter = Cutter::new(spec.sample_rate, spec.channels, bounds)?;
        let mut sniffed = SniffedInput::open(input, opts.decode.raw_pcm.is_some())?;
        let container = sniffed.container;
        let check = sniffed.watch_truncation()?;
        let source = decode::open(sniffed, &opts.decode)?;
        let resampler = StreamResampler::new(
            source.spec().sample_rate,
            spec.sample_rate,
            usize::from(spec.channels),
        )?;
        Ok(Splitter {
            container,
            source,
            resampler,
            spec,
            wav,
            opts: opts.clone(),
            cutter,
            check,
        })
    }

    /// What the input bytes are.
    pub fn input_container(&self) -> Container {
        self.container
    }

    /// The input's duration in seconds as its container announces it, when it does (for
    /// progress; the decoded length is in [`SplitSummary`]).
    pub fn announced_seconds(&self) -> Option<f64> {
        let rate = self.source.spec().sample_rate;
        (rate > 0)
            .then_some(())
            .and(self.source.announced_frames())
            .map(|f| f as f64 / f64::from(rate))
    }

    /// Decode to the end, delivering each segment as it is cut.
    ///
    /// # Errors
    /// Decoder failures (a truncated or damaged input: the segments delivered before are the
    /// audio up to that point), encoder failures, and the sink's own errors.
    pub fn run(mut self, sink: &mut dyn SegmentSink) -> Result<SplitSummary, CodecError> {
        let in_spec = self.source.spec();
        let (in_ch, out_ch) = (
            usize::from(in_spec.channels),
            usize::from(self.spec.channels),
        );
        let (mut mixed, mut resampled) = (Vec::new(), Vec::new());
        let mut frames_in = 0u64;
        let mut index = 0usize;
        while let Some(block) = self.source.next_block()? {
            frames_in += (block.len() / in_ch.max(1)) as u64;
            mixed.clear();
            remix(block, in_ch, out_ch, &mut mixed);
            resampled.clear();
            self.resampler.push(&mixed, &mut resampled)?;
            self.cutter.push(&resampled)?;
            while self.cutter.ready() {
                let cut = self.cutter.cut_point();
                sink.segment(self.encode(index, cut)?)?;
                self.cutter.advance(cut)?;
                index += 1;
            }
            sink.progress(frames_in as f64 / f64::from(in_spec.sample_rate));
        }
        // A cut-off Ogg or WebM stream decodes "successfully" to its end: the segments sent so
        // far stand, the rest is reported.
        if let Some(check) = &self.check {
            check.finish()?;
        }
        resampled.clear();
        self.resampler.finish(&mut resampled)?;
        self.cutter.push(&resampled)?;
        while self.cutter.ready() {
            let cut = self.cutter.cut_point();
            sink.segment(self.encode(index, cut)?)?;
            self.cutter.advance(cut)?;
            index += 1;
        }
        let duration_seconds = frames_in as f64 / f64::from(in_spec.sample_rate);
        let rest = self.cutter.buffered_frames();
        if index == 0 && sink.take_whole() {
            return Ok(SplitSummary {
                segments: 0,
                duration_seconds,
                whole: true,
            });
        }
        if rest > 0 {
            sink.segment(self.encode(index, rest)?)?;
            index += 1;
        }
        Ok(SplitSummary {
            segments: index,
            duration_seconds,
            whole: false,
        })
    }

    /// Encode the first `frames` buffered frames as segment `index`.
    fn encode(&mut self, index: usize, frames: usize) -> Result<EncodedSegment, CodecError> {
        let start_frame = self.cutter.start_frame();
        let mut bytes = Vec::new();
        let (mime_type, extension) = if self.wav {
            let samples = frames * usize::from(self.spec.channels);
            bytes.reserve(44 + samples * 2);
            bytes.extend_from_slice(&header(self.spec, Some(frames as u64)));
            self.cutter.visit_samples(frames, |chunk| {
                bytes.extend(chunk.iter().flat_map(|&s| to_s16(s).to_le_bytes()));
                Ok(())
            })?;
            ("audio/wav", "wav")
        } else {
            let serial = 0x7365_6700 ^ index as u32;
            let mut encoder = OggOpusEncoder::new(self.spec, self.opts.opus, serial)?;
            self.cutter
                .visit_samples(frames, |chunk| encoder.encode(chunk, &mut bytes))?;
            encoder.finish(&mut bytes)?;
            ("audio/ogg", "ogg")
        };
        Ok(EncodedSegment {
            index,
            start_frame,
            end_frame: start_frame + frames as u64,
            sample_rate: self.spec.sample_rate,
            bytes,
            mime_type,
            extension,
        })
    }
}
