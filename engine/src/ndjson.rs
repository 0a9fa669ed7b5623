//! Newline-delimited JSON framing (one record per `\n`, as the Ollama API streams it).

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::FrameError;

/// The default for [`NdjsonDecoder::with_max_line_bytes`]: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A [`Decoder`] that cuts a byte stream into NDJSON records.
///
/// * A record is the bytes before each `\n`, as a [`Bytes`] slice of the read buffer
///   (`split_to().freeze()`, no copy). One trailing `\r` is trimmed (CRLF line ends).
/// * Blank lines (empty after the `\r` trim) are skipped.
/// * [`Decoder::decode_eof`] yields a final line that has no `\n` after it (clients accept a
///   stream without a trailing newline, clients.md §3.4).
/// * The record is not checked to be JSON: parsing it is the caller's job.
///
/// The search for `\n` resumes where it stopped, so a long line split over many reads is
/// scanned once.
///
/// # Errors
/// [`FrameError::LineTooLong`] when a line (without its `\n`, with a `\r` if any) is longer
/// than the limit; the decoder discards that line up to and including its `\n` and decoding can
/// continue ([`FrameError::can_continue`]).
#[derive(Debug)]
pub struct NdjsonDecoder {
    max_line_bytes: usize,
    /// `src[..search]` holds no `\n`.
    search: usize,
    /// Discarding an over-long line until its `\n`.
    skipping: bool,
}

impl Default for NdjsonDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NdjsonDecoder {
    /// A decoder with the default limit [`DEFAULT_MAX_LINE_BYTES`].
    pub fn new() -> Self {
        Self::with_max_line_bytes(DEFAULT_MAX_LINE_BYTES)
    }

    /// A decoder that rejects lines longer than `max_line_bytes` bytes (without the `\n`) with
    /// [`FrameError::LineTooLong`].
    pub fn with_max_line_bytes(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            search: 0,
            skipping: false,
        }
    }

    /// The configured line size limit, in bytes.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    fn too_long(&self) -> FrameError {
        FrameError::LineTooLong {
            limit: self.max_line_bytes,
        }
    }
}

/// The record of a complete line (without its `\n`), or `None` for a blank line.
fn record(mut line: Bytes) -> Option<Bytes> {
    if line.last() == Some(&b'\r') {
        line.truncate(line.len() - 1);
    }
    (!line.is_empty()).then_some(line)
}

impl Decoder for NdjsonDecoder {
    type Item = Bytes;
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            let Some(offset) = memchr::memchr(b'\n', &src[self.search..]) else {
                if self.skipping {
                    src.clear();
                    self.search = 0;
                } else if src.len() > self.max_line_bytes {
                    src.clear();
                    self.search = 0;
                    self.skipping = true;
                    return Err(self.too_long());
                } else {
                    self.search = src.len();
                }
                return Ok(None);
            };
            let eol = self.search + offset;
            self.search = 0;
            // The line without its `\n` and one trailing `\r`.
            let end = eol - usize::from(eol > 0 && src[eol - 1] == b'\r');
            if end > 0 && eol <= self.max_line_bytes && !self.skipping {
                // The hot path: one split (one reference-count increment), trimmed before it
                // is frozen, so the record costs nothing more.
                let mut line = src.split_to(eol + 1);
                line.truncate(end);
                return Ok(Some(line.freeze()));
            }
            // Blank lines, the end of a line being skipped, over-long lines: dropped without
            // touching the reference count of the buffer.
            src.advance(eol + 1);
            if self.skipping {
                self.skipping = false;
            } else if eol > self.max_line_bytes {
                return Err(self.too_long());
            }
        }
    }

    /// Decodes what is left, then yields a final line that has no `\n` after it (trimmed and
    /// skipped when blank like any other line) and clears the buffer.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(rec) = self.decode(src)? {
            return Ok(Some(rec));
        }
        self.search = 0;
        if self.skipping || src.is_empty() {
            self.skipping = false;
            src.clear();
            return Ok(None);
        }
        Ok(record(src.split().freeze()))
    }
}
