//! Framing tests: the WHATWG SSE rules and the NDJSON rules with scripted chunk boundaries, a
//! property test that any split of the fixture streams yields the same events, and the golden
//! fixtures of `testdata/sse/`.

mod golden;
mod ndjson_rules;
mod split;
mod sse_rules;

use bytes::BytesMut;
use codex_pipe_engine::FrameError;
use tokio_util::codec::Decoder;

/// One decoder output: a frame, or the `Display` of a recoverable error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out<T> {
    /// A decoded frame.
    Frame(T),
    /// A recoverable error, as displayed.
    Error(String),
}

/// Feeds `chunks` one read at a time (calling `decode` until it needs more after each read, as
/// `FramedRead` does), then runs `decode_eof` until it is done. Recoverable errors are recorded
/// and decoding continues; an unrecoverable one ends the run.
pub fn run<D>(mut decoder: D, chunks: &[&[u8]]) -> Vec<Out<D::Item>>
where
    D: Decoder<Error = FrameError>,
{
    run_with(&mut decoder, chunks)
}

/// [`run`] with a borrowed decoder, to inspect its state afterwards.
pub fn run_with<D>(decoder: &mut D, chunks: &[&[u8]]) -> Vec<Out<D::Item>>
where
    D: Decoder<Error = FrameError>,
{
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if !drain(decoder, &mut buf, false, &mut out) {
            return out;
        }
    }
    drain(decoder, &mut buf, true, &mut out);
    assert!(buf.is_empty(), "decode_eof must leave the buffer empty");
    out
}

/// Runs `decode` (`decode_eof` at `eof`) until it needs more bytes, collecting frames and
/// errors; `false` once an unrecoverable error ended the run.
fn drain<D>(decoder: &mut D, buf: &mut BytesMut, eof: bool, out: &mut Vec<Out<D::Item>>) -> bool
where
    D: Decoder<Error = FrameError>,
{
    loop {
        let next = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        match next {
            Ok(Some(frame)) => out.push(Out::Frame(frame)),
            Ok(None) => return true,
            Err(err) => {
                let go_on = err.can_continue();
                out.push(Out::Error(err.to_string()));
                if !go_on {
                    return false;
                }
            }
        }
    }
}

/// Splits `input` before every offset in `cuts` (sorted, deduplicated, clamped).
pub fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}
