//! Typed errors of the framing layer and of the stream driver.

use std::time::Duration;

/// An error raised while cutting a byte stream into frames.
///
/// Use [`FrameError::can_continue`] to decide what to do next: a size-limit error is local to
/// one frame (the decoder discards the rest of that frame and the stream goes on), an I/O error
/// ends the stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// An SSE event block (its field and comment lines, line ends included, without the blank
    /// line that ends it) grew past the decoder's limit, in bytes.
    ///
    /// The decoder discards that whole block, up to and including its blank line, and then
    /// continues with the next block.
    #[error("SSE event is longer than the limit of {limit} bytes")]
    EventTooLong {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// An NDJSON line (without its `\n`) grew past the decoder's limit, in bytes.
    ///
    /// The decoder discards that line, up to and including its `\n`, and then continues.
    #[error("NDJSON line is longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The underlying reader failed (required by [`tokio_util::codec::Decoder`], whose error
    /// type must be `From<std::io::Error>`).
    #[error("I/O error while reading a framed stream")]
    Io(#[from] std::io::Error),
}

impl FrameError {
    /// Whether the decoder can keep decoding the same stream after this error.
    ///
    /// `true` for [`FrameError::EventTooLong`] and [`FrameError::LineTooLong`] (only the
    /// offending frame is lost), `false` for [`FrameError::Io`].
    pub fn can_continue(&self) -> bool {
        match self {
            FrameError::EventTooLong { .. } | FrameError::LineTooLong { .. } => true,
            FrameError::Io(_) => false,
        }
    }
}

/// Why a [`crate::Drive`] stream stopped.
///
/// `T` is the transcoder's error type, `E` the upstream byte stream's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError<T, E> {
    /// The decoder rejected the upstream bytes (and either the error cannot continue or the
    /// transcoder chose to stop, see [`crate::Transcoder::on_frame_error`]).
    #[error("framing error")]
    Framing(#[source] FrameError),
    /// The transcoder rejected a frame or failed to finish.
    #[error("transcoder error")]
    Transcoder(#[source] T),
    /// The upstream byte stream yielded an error.
    #[error("upstream transport error")]
    Transport(#[source] E),
    /// No upstream chunk arrived for `after` (the configured idle timeout).
    #[error("upstream idle for {after:?}")]
    IdleTimeout {
        /// The configured idle timeout.
        after: Duration,
    },
}

impl<T, E> DriveError<T, E> {
    /// A short stable name of the variant (`"framing"`, `"transcoder"`, `"transport"`,
    /// `"idle_timeout"`), handy for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            DriveError::Framing(_) => "framing",
            DriveError::Transcoder(_) => "transcoder",
            DriveError::Transport(_) => "transport",
            DriveError::IdleTimeout { .. } => "idle_timeout",
        }
    }
}

/// An error from a [`crate::Frames`] stream (frames decoded from a byte stream).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError<E> {
    /// The decoder rejected the bytes; the stream goes on after it when
    /// [`FrameError::can_continue`] is `true`, and ends otherwise.
    #[error("framing error")]
    Framing(#[source] FrameError),
    /// The upstream byte stream yielded an error; the stream ends after it.
    #[error("upstream transport error")]
    Transport(#[source] E),
}
