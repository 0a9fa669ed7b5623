//! The one error type of the codec pipeline.

use crate::sniff::Container;

/// Everything that can go wrong between input bytes and encoded output.
///
/// Every variant is a decision a caller can act on: the CLI prints it and exits non-zero, the
/// proxy maps it to HTTP 400 (client input) or 500 (our side, [`CodecError::is_client_error`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input has no bytes at all.
    #[error("the input is empty (0 bytes)")]
    Empty,
    /// No row of the sniffing table matched the first bytes.
    #[error("unrecognised audio container (first bytes: {head}); raw PCM must be declared with its sample rate, channels and sample format")]
    UnknownContainer {
        /// Hex of up to the first 12 bytes, for the message.
        head: String,
    },
    /// The container is recognised but nothing here can decode what it carries.
    #[error("{container} input is not supported: {reason}")]
    Unsupported {
        /// What the bytes are.
        container: Container,
        /// Why and what to do instead.
        reason: String,
    },
    /// The data is damaged: a header or packet could not be parsed.
    #[error("corrupt {container} data: {detail}")]
    Corrupt {
        /// What the bytes claimed to be.
        container: Container,
        /// The demuxer's or decoder's own words.
        detail: String,
    },
    /// The stream ended before the length its header announced.
    #[error("truncated {container} data: the header announces {expected_frames} frames, only {decoded_frames} were decoded")]
    Truncated {
        /// What the bytes are.
        container: Container,
        /// Frames (samples per channel) announced by the container.
        expected_frames: u64,
        /// Frames actually decoded.
        decoded_frames: u64,
    },
    /// The container ends in the middle of an element or page, or without its end marker: the
    /// file or stream was cut off (found by [`crate::verify::StreamCheck`]).
    #[error("truncated {container} data: {detail}")]
    TruncatedStream {
        /// What the bytes are.
        container: Container,
        /// Where it ends and what was announced.
        detail: String,
    },
    /// An external decoder program is not installed or not executable.
    #[error("the {decoder} decoder is missing ({detail}); install it with `{install}` or point to it with {}", decoder_flag(.decoder))]
    DecoderMissing {
        /// The program's name in the decoder table: `rust-silk` or `ffmpeg`.
        decoder: String,
        /// The path that was tried and the OS error.
        detail: String,
        /// The command that installs it.
        install: String,
    },
    /// A decoder (library or external program) failed; the partial output is not a success.
    #[error("the {decoder} decoder failed: {message}")]
    DecoderFailed {
        /// Which decoder.
        decoder: String,
        /// Its own message (stderr for external programs).
        message: String,
    },
    /// The encoder refused its parameters or failed.
    #[error("the {encoder} encoder failed: {message}")]
    Encoder {
        /// `wav` or `opus`.
        encoder: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A caller-supplied option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl CodecError {
    /// True when the error is caused by the input or options (HTTP 400), false when it is ours
    /// or the machine's (a missing decoder, an I/O failure: HTTP 500).
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            CodecError::DecoderMissing { .. } | CodecError::Encoder { .. } | CodecError::Io(_)
        )
    }

    pub(crate) fn corrupt(container: Container, detail: impl std::fmt::Display) -> Self {
        CodecError::Corrupt {
            container,
            detail: detail.to_string(),
        }
    }
}

/// The command-line flag that points to another copy of an external decoder.
fn decoder_flag(decoder: &str) -> &'static str {
    if decoder == "ffmpeg" {
        "--ffmpeg"
    } else {
        "--silk-decoder"
    }
}

/// Hex of the first bytes of `data`, for error messages.
pub(crate) fn hex_head(data: &[u8]) -> String {
    data.iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
