//! WAV (RIFF WAVE, `WAVE_FORMAT_PCM`, signed 16-bit little-endian) writer.
//!
//! The length of a streamed output is not known when the header goes out, so the RIFF and
//! `data` chunk sizes are written as `0xFFFFFFFF`, as ffmpeg does on a pipe (codecs.md §7.5;
//! symphonia, ffmpeg and sox read such files to their real end). A caller that writes to a file
//! can seek back and overwrite the first [`HEADER_BYTES`] with [`header`]`(spec, Some(frames))`.

use super::Encoder;
use crate::decode::PcmSpec;
use crate::error::CodecError;

/// Size of the canonical header written by [`header`].
pub const HEADER_BYTES: usize = 44;

/// The 44-byte canonical PCM header for `frames` frames of s16le, or with `0xFFFFFFFF` sizes
/// when `frames` is `None` or the data would exceed a 32-bit RIFF size.
pub fn header(spec: PcmSpec, frames: Option<u64>) -> [u8; HEADER_BYTES] {
    let block_align = 2 * u32::from(spec.channels);
    let data_len = frames
        .map(|f| f * u64::from(block_align))
        .filter(|&n| n <= u64::from(u32::MAX) - 36)
        .map_or(u32::MAX, |n| n as u32);
    let riff_len = if data_len == u32::MAX {
        u32::MAX
    } else {
        data_len + 36
    };
    let mut h = [0u8; HEADER_BYTES];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_len.to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // WAVE_FORMAT_PCM
    h[22..24].copy_from_slice(&spec.channels.to_le_bytes());
    h[24..28].copy_from_slice(&spec.sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(spec.sample_rate * block_align).to_le_bytes());
    h[32..34].copy_from_slice(&(block_align as u16).to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// `f32` in `[-1, 1]` to s16 (scale 32768, rounded, clamped): the inverse of the decoders'
/// `/ 32768`, so 16-bit input survives a round trip bit-exactly.
pub fn to_s16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Streaming s16le WAV encoder.
pub struct WavEncoder {
    spec: PcmSpec,
    header_written: bool,
    frames: u64,
}

impl WavEncoder {
    /// An encoder for `spec`; the header is emitted with the first call.
    pub fn new(spec: PcmSpec) -> Self {
        WavEncoder {
            spec,
            header_written: false,
            frames: 0,
        }
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl Encoder for WavEncoder {
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.header_written {
            out.extend_from_slice(&header(self.spec, None));
            self.header_written = true;
        }
        out.reserve(samples.len() * 2);
        for &s in samples {
            out.extend_from_slice(&to_s16(s).to_le_bytes());
        }
        self.frames += (samples.len() / usize::from(self.spec.channels.max(1))) as u64;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.header_written {
            out.extend_from_slice(&header(self.spec, Some(0)));
            self.header_written = true;
        }
        Ok(())
    }
}
