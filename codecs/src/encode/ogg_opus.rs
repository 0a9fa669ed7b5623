//! Ogg Opus writer per RFC 7845 (libopus through audiopus, Ogg pages through the `ogg` crate).
//!
//! - Page 0: `OpusHead` (§5.1) with pre-skip = encoder lookahead in 48 kHz samples, the input
//!   sample rate, gain 0, channel mapping family 0. Page 1: `OpusTags` (§5.2) with our vendor
//!   string and no comments. Both pages have granule position 0.
//! - Audio: 20 ms packets. The granule position of a page is the 48 kHz sample count of the
//!   last packet completed on it, counted from 0, so it includes the pre-skip (§4).
//! - A page is closed at least every 50 packets (1 s, like opusenc's default max delay), so
//!   output streams out steadily instead of every 255 packets.
//! - End: the last block is padded with silence until `lookahead` extra samples have been
//!   encoded; the last packet carries the EOS flag and granule `pre_skip + n_in · 48000/rate`,
//!   which tells decoders to drop the padding (§4.5).

use audiopus::coder::Encoder as OpusEncoder;
use audiopus::{Application, Bitrate, Channels, SampleRate};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use super::Encoder;
use crate::decode::PcmSpec;
use crate::error::CodecError;

/// Sample rates libopus encodes at (Hz).
pub const OPUS_SAMPLE_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// Packets per Ogg page at most: 50 × 20 ms = 1 s.
const PACKETS_PER_PAGE: u32 = 50;

/// Largest packet we ask libopus for (its recommended maximum).
const MAX_PACKET_BYTES: usize = 4000;

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusSettings {
    /// Target bitrate in bits per second (6000..=510000).
    pub bitrate: u32,
    /// Encoder complexity 0..=10 (libopus default 10; 5 is ~4× faster and near-identical for
    /// speech at 24 kbps, codecs.md §6).
    pub complexity: u8,
}

impl Default for OpusSettings {
    fn default() -> Self {
        OpusSettings {
            bitrate: 24_000,
            complexity: 5,
        }
    }
}

/// Streaming Ogg Opus encoder.
pub struct OggOpusEncoder {
    encoder: OpusEncoder,
    writer: PacketWriter<'static, Vec<u8>>,
    spec: PcmSpec,
    serial: u32,
    /// Samples per channel in one 20 ms packet.
    frame_size: usize,
    /// 48 kHz samples per input sample.
    granule_scale: u64,
    pre_skip: u64,
    lookahead: u64,
    pending: Vec<f32>,
    packet: Vec<u8>,
    frames_in: u64,
    frames_encoded: u64,
    packets_on_page: u32,
    started: bool,
}

fn fault(e: impl std::fmt::Display) -> CodecError {
    CodecError::Encoder {
        encoder: "opus",
        message: e.to_string(),
    }
}

impl OggOpusEncoder {
    /// An encoder for mono or stereo input at one of [`OPUS_SAMPLE_RATES`].
    ///
    /// # Errors
    /// [`CodecError::InvalidOption`] for other rates, channel counts, bitrates or complexities.
    pub fn new(spec: PcmSpec, settings: OpusSettings, serial: u32) -> Result<Self, CodecError> {
        let rate = match spec.sample_rate {
            8000 => SampleRate::Hz8000,
            12000 => SampleRate::Hz12000,
            16000 => SampleRate::Hz16000,
            24000 => SampleRate::Hz24000,
            48000 => SampleRate::Hz48000,
            other => {
                return Err(CodecError::InvalidOption(format!(
                    "Opus encodes at {OPUS_SAMPLE_RATES:?} Hz, not {other}"
                )))
            }
        };
        let channels = match spec.channels {
            1 => Channels::Mono,
            2 => Channels::Stereo,
            n => {
                return Err(CodecError::InvalidOption(format!(
                    "Opus output must be mono or stereo, not {n} channels"
                )))
            }
        };
        if !(6000..=510_000).contains(&settings.bitrate) || settings.complexity > 10 {
            return Err(CodecError::InvalidOption(format!(
                "Opus bitrate must be 6000..=510000 b/s and complexity 0..=10 (got {} and {})",
                settings.bitrate, settings.complexity
            )));
        }
        // `Audio`, the default of opusenc and ffmpeg: `Voip` costs 2.8× the encode time here
        // (0.36 s against 0.13 s for 60 s of 24 kHz mono at complexity 5) for speech
        // pre-processing that a recogniser does not need.
        let mut encoder = OpusEncoder::new(rate, channels, Application::Audio).map_err(fault)?;
        encoder
            .set_bitrate(Bitrate::BitsPerSecond(settings.bitrate as i32))
            .map_err(fault)?;
        encoder.set_complexity(settings.complexity).map_err(fault)?;
        let lookahead = u64::from(encoder.lookahead().map_err(fault)?);
        let granule_scale = u64::from(48_000 / spec.sample_rate);
        Ok(OggOpusEncoder {
            encoder,
            writer: PacketWriter::new(Vec::new()),
            spec,
            serial,
            frame_size: spec.sample_rate as usize / 50,
            granule_scale,
            pre_skip: lookahead * granule_scale,
            lookahead,
            pending: Vec::new(),
            packet: vec![0; MAX_PACKET_BYTES],
            frames_in: 0,
            frames_encoded: 0,
            packets_on_page: 0,
            started: false,
        })
    }

    /// The pre-skip written in `OpusHead`, in 48 kHz samples.
    pub fn pre_skip(&self) -> u64 {
        self.pre_skip
    }

    fn write_headers(&mut self) -> Result<(), CodecError> {
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(self.spec.channels as u8);
        head.extend_from_slice(&(self.pre_skip as u16).to_le_bytes());
        head.extend_from_slice(&self.spec.sample_rate.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0
        let vendor = concat!("codex-pipe ", env!("CARGO_PKG_VERSION"));
        let mut tags = Vec::with_capacity(16 + vendor.len());
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        self.writer
            .write_packet(head, self.serial, PacketWriteEndInfo::EndPage, 0)
            .map_err(fault)?;
        self.writer
            .write_packet(tags, self.serial, PacketWriteEndInfo::EndPage, 0)
            .map_err(fault)?;
        self.started = true;
        Ok(())
    }

    /// Encode the first `frame_size` frames of `pending` as one packet.
    fn encode_packet(&mut self, last: bool) -> Result<(), CodecError> {
        let n = self.frame_size * usize::from(self.spec.channels);
        let len = self
            .encoder
            .encode_float(&self.pending[..n], &mut self.packet)
            .map_err(fault)?;
        self.pending.drain(..n);
        self.frames_encoded += self.frame_size as u64;
        self.packets_on_page += 1;
        let (end, granule) = if last {
            (
                PacketWriteEndInfo::EndStream,
                self.pre_skip + self.frames_in * self.granule_scale,
            )
        } else if self.packets_on_page >= PACKETS_PER_PAGE {
            (
                PacketWriteEndInfo::EndPage,
                self.frames_encoded * self.granule_scale,
            )
        } else {
            (
                PacketWriteEndInfo::NormalPacket,
                self.frames_encoded * self.granule_scale,
            )
        };
        if !matches!(end, PacketWriteEndInfo::NormalPacket) {
            self.packets_on_page = 0;
        }
        self.writer
            .write_packet(self.packet[..len].to_vec(), self.serial, end, granule)
            .map_err(fault)
    }

    fn drain_pages(&mut self, out: &mut Vec<u8>) {
        out.append(self.writer.inner_mut());
    }
}

impl Encoder for OggOpusEncoder {
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.started {
            self.write_headers()?;
        }
        self.pending.extend_from_slice(samples);
        self.frames_in += (samples.len() / usize::from(self.spec.channels)) as u64;
        let n = self.frame_size * usize::from(self.spec.channels);
        // Keep one full packet back until more arrives, so that `finish` always has a
        // packet to mark as the last.
        while self.pending.len() > n {
            self.encode_packet(false)?;
        }
        self.drain_pages(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.started {
            self.write_headers()?;
        }
        let ch = usize::from(self.spec.channels);
        let n = self.frame_size * ch;
        // Pad so that every input sample plus the lookahead has been through the encoder.
        let needed = self.frames_in + self.lookahead;
        let pending_frames = (self.pending.len() / ch) as u64;
        let total = self.frames_encoded + pending_frames;
        let target = needed.max(total).max(self.frames_encoded + 1);
        let padded = target.div_ceil(self.frame_size as u64) * self.frame_size as u64;
        self.pending
            .resize(((padded - self.frames_encoded) as usize) * ch, 0.0);
        while self.pending.len() > n {
            self.encode_packet(false)?;
        }
        self.encode_packet(true)?;
        self.drain_pages(out);
        Ok(())
    }
}
