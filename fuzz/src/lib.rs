//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! `split_input` turns one fuzzer input into a decoder limit, read boundaries and a stream, so
//! that a framing target can assert that decoding the stream in fuzzer-chosen reads gives the
//! same frames as decoding it in one piece.

use bytes::BytesMut;
use codex_pipe_engine::FrameError;
use tokio_util::codec::Decoder;

/// A fuzzer input cut into its parts.
pub struct SplitInput<'a> {
    /// A small frame size limit (16..=271 bytes) so the over-long path is exercised.
    pub limit: usize,
    /// The stream, as reads of fuzzer-chosen sizes (concatenated, they are `stream`).
    pub reads: Vec<&'a [u8]>,
    /// The whole stream.
    pub stream: &'a [u8],
}

/// Layout: `[limit byte][n][n read sizes (1..=256 each, reused cyclically)][stream...]`.
/// Returns `None` when the input is too short to hold the header.
pub fn split_input(data: &[u8]) -> Option<SplitInput<'_>> {
    let (&limit, rest) = data.split_first()?;
    let (&n, rest) = rest.split_first()?;
    let n = usize::from(n % 8) + 1;
    if rest.len() < n {
        return None;
    }
    let (sizes, stream) = rest.split_at(n);
    let mut reads = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while start < stream.len() {
        let len = usize::from(sizes[i % n]) + 1;
        let end = (start + len).min(stream.len());
        reads.push(&stream[start..end]);
        start = end;
        i += 1;
    }
    Some(SplitInput {
        limit: usize::from(limit) + 16,
        reads,
        stream,
    })
}

/// One decoder output: a frame or a recoverable error's `Display`.
#[derive(Debug, PartialEq, Eq)]
pub enum Out<T> {
    /// A decoded frame.
    Frame(T),
    /// A framing error the decoder continued after.
    Error(String),
}

/// Decodes `reads` one read at a time (as `FramedRead` does), then `decode_eof`.
///
/// # Panics
/// When the decoder leaves bytes in the buffer after `decode_eof` returned `None`, or returns
/// an error that cannot continue (the in-memory framers never do I/O).
pub fn run<D: Decoder<Error = FrameError>>(mut decoder: D, reads: &[&[u8]]) -> Vec<Out<D::Item>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let push = |r: Result<Option<D::Item>, FrameError>, out: &mut Vec<Out<D::Item>>| match r {
        Ok(Some(frame)) => {
            out.push(Out::Frame(frame));
            true
        }
        Ok(None) => false,
        Err(err) => {
            assert!(err.can_continue(), "unexpected fatal error {err}");
            out.push(Out::Error(err.to_string()));
            true
        }
    };
    for read in reads {
        buf.extend_from_slice(read);
        while push(decoder.decode(&mut buf), &mut out) {}
    }
    while push(decoder.decode_eof(&mut buf), &mut out) {}
    assert!(buf.is_empty(), "decode_eof left {} bytes", buf.len());
    out
}
