//! Headerless PCM, accepted only with a declared format (raw PCM cannot be sniffed).

use std::io::{self, Read};
use std::str::FromStr;

use super::{PcmSource, PcmSpec};
use crate::error::CodecError;
use crate::input::{SniffedInput, Source};

/// Sample encodings of raw PCM, named as ffmpeg's `-f` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcmEncoding {
    /// Unsigned 8-bit.
    U8,
    /// Signed 16-bit little-endian.
    S16Le,
    /// Signed 16-bit big-endian.
    S16Be,
    /// Signed 24-bit little-endian, packed in 3 bytes.
    S24Le,
    /// Signed 32-bit little-endian.
    S32Le,
    /// IEEE 754 32-bit float little-endian.
    F32Le,
}

impl PcmEncoding {
    /// Bytes per sample.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            PcmEncoding::U8 => 1,
            PcmEncoding::S16Le | PcmEncoding::S16Be => 2,
            PcmEncoding::S24Le => 3,
            PcmEncoding::S32Le | PcmEncoding::F32Le => 4,
        }
    }

    /// The name, as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            PcmEncoding::U8 => "u8",
            PcmEncoding::S16Le => "s16le",
            PcmEncoding::S16Be => "s16be",
            PcmEncoding::S24Le => "s24le",
            PcmEncoding::S32Le => "s32le",
            PcmEncoding::F32Le => "f32le",
        }
    }

    fn decode(self, s: &[u8]) -> f32 {
        match self {
            PcmEncoding::U8 => (f32::from(s[0]) - 128.0) / 128.0,
            PcmEncoding::S16Le => f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0,
            PcmEncoding::S16Be => f32::from(i16::from_be_bytes([s[0], s[1]])) / 32768.0,
            PcmEncoding::S24Le => {
                (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0
            }
            PcmEncoding::S32Le => {
                i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0
            }
            PcmEncoding::F32Le => f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        }
    }
}

impl FromStr for PcmEncoding {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PcmEncoding::U8,
            PcmEncoding::S16Le,
            PcmEncoding::S16Be,
            PcmEncoding::S24Le,
            PcmEncoding::S32Le,
            PcmEncoding::F32Le,
        ]
        .into_iter()
        .find(|e| e.name() == s)
        .ok_or_else(|| {
            CodecError::InvalidOption(format!(
                "unknown PCM encoding {s:?} (use u8, s16le, s16be, s24le, s32le or f32le)"
            ))
        })
    }
}

/// The declared format of headerless PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPcmFormat {
    /// Sample encoding.
    pub encoding: PcmEncoding,
    /// Frames per second (Hz), 1..=768000.
    pub sample_rate: u32,
    /// Interleaved channels, 1..=8.
    pub channels: u16,
}

/// Bytes read per block.
const READ_BYTES: usize = 16 * 1024;

pub(crate) struct RawSource {
    source: Source,
    format: RawPcmFormat,
    bytes: Vec<u8>,
    carry: usize,
    block: Vec<f32>,
    finished: bool,
}

impl RawSource {
    pub(crate) fn new(input: SniffedInput, format: RawPcmFormat) -> Result<Self, CodecError> {
        if !(1..=768_000).contains(&format.sample_rate) || !(1..=8).contains(&format.channels) {
            return Err(CodecError::InvalidOption(format!(
                "raw PCM needs 1..=768000 Hz and 1..=8 channels, not {} Hz × {}",
                format.sample_rate, format.channels
            )));
        }
        Ok(RawSource {
            source: input.into_source(),
            format,
            bytes: vec![0; READ_BYTES],
            carry: 0,
            block: Vec::new(),
            finished: false,
        })
    }
}

impl PcmSource for RawSource {
    fn spec(&self) -> PcmSpec {
        PcmSpec {
            sample_rate: self.format.sample_rate,
            channels: self.format.channels,
        }
    }

    fn codec_name(&self) -> &str {
        self.format.encoding.name()
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>, CodecError> {
        let frame_bytes =
            self.format.encoding.bytes_per_sample() * usize::from(self.format.channels);
        while !self.finished {
            let n = match self.source.read(&mut self.bytes[self.carry..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                // A trailing partial frame is dropped, as every PCM reader does.
                self.finished = true;
                break;
            }
            let have = self.carry + n;
            let whole = have - have % frame_bytes;
            let width = self.format.encoding.bytes_per_sample();
            let encoding = self.format.encoding;
            self.block.clear();
            self.block.extend(
                self.bytes[..whole]
                    .chunks_exact(width)
                    .map(|s| encoding.decode(s)),
            );
            self.bytes.copy_within(whole..have, 0);
            self.carry = have - whole;
            if !self.block.is_empty() {
                return Ok(Some(&self.block));
            }
        }
        Ok(None)
    }
}
