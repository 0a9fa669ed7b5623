//! Opus packets → PCM through libopus (audiopus), since symphonia demuxes Opus but has no
//! decoder for it (codecs.md §1.2).
//!
//! Output is always 48 kHz (RFC 7845 §5.1: the granule position and pre-skip are in 48 kHz
//! samples). The first `pre_skip` decoded frames are dropped; the container's end trim is
//! applied per packet by the caller.

use audiopus::coder::Decoder;
use audiopus::packet::Packet;
use audiopus::{Channels, MutSignals, SampleRate};

use crate::error::CodecError;
use crate::sniff::Container;

/// The largest Opus packet decodes to 120 ms: 5760 frames at 48 kHz.
const MAX_FRAMES_PER_PACKET: usize = 5760;

/// A libopus decoder with the stream's pre-skip still to drop.
pub(crate) struct OpusPackets {
    decoder: Decoder,
    channels: usize,
    pre_skip_left: usize,
    scratch: Vec<f32>,
    container: Container,
}

impl OpusPackets {
    /// `pre_skip` in 48 kHz frames (OpusHead bytes 10..12, RFC 7845 §5.1).
    pub(crate) fn new(
        channels: usize,
        pre_skip: usize,
        container: Container,
    ) -> Result<Self, CodecError> {
        let ch = match channels {
            1 => Channels::Mono,
            2 => Channels::Stereo,
            n => {
                return Err(CodecError::Unsupported {
                    container,
                    reason: format!("Opus with {n} channels (only mono and stereo are decoded)"),
                })
            }
        };
        let decoder =
            Decoder::new(SampleRate::Hz48000, ch).map_err(|e| CodecError::DecoderFailed {
                decoder: "opus".into(),
                message: e.to_string(),
            })?;
        Ok(OpusPackets {
            decoder,
            channels,
            pre_skip_left: pre_skip,
            scratch: vec![0.0; MAX_FRAMES_PER_PACKET * channels],
            container,
        })
    }

    /// Decode one packet; returns the interleaved samples left after the pre-skip and after
    /// dropping `trim_end` frames from the end.
    pub(crate) fn decode(&mut self, data: &[u8], trim_end: usize) -> Result<&[f32], CodecError> {
        let packet = Packet::try_from(data).map_err(|e| CodecError::corrupt(self.container, e))?;
        let signals = MutSignals::try_from(&mut self.scratch[..])
            .map_err(|e| CodecError::corrupt(self.container, e))?;
        let frames = self
            .decoder
            .decode_float(Some(packet), signals, false)
            .map_err(|e| CodecError::corrupt(self.container, format!("opus packet: {e}")))?;
        let skip = self.pre_skip_left.min(frames);
        self.pre_skip_left -= skip;
        let end = frames.saturating_sub(trim_end).max(skip);
        Ok(&self.scratch[skip * self.channels..end * self.channels])
    }
}

/// The pre-skip from an `OpusHead` (RFC 7845 §5.1), as carried in Matroska `CodecPrivate`.
pub(crate) fn pre_skip_from_head(head: &[u8]) -> Option<usize> {
    if head.len() >= 12 && head.starts_with(b"OpusHead") {
        Some(u16::from_le_bytes([head[10], head[11]]) as usize)
    } else {
        None
    }
}
