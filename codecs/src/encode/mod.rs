//! Encoders: interleaved `f32` PCM → container bytes, appended to a `Vec<u8>` as they are
//! produced so the caller can stream them out.

pub mod ogg_opus;
pub mod wav;

use crate::error::CodecError;

/// An encoder that turns PCM blocks into bytes of one container.
pub trait Encoder: Send {
    /// Encode interleaved samples (whole frames), appending finished bytes to `out`.
    ///
    /// # Errors
    /// [`CodecError::Encoder`] when the codec library fails.
    fn encode(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Flush everything buffered and write the end of the stream into `out`.
    ///
    /// # Errors
    /// As [`Encoder::encode`].
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CodecError>;
}
