//! Any split of a stream into reads yields the same frames as decoding it in one piece.

use codex_pipe_engine::{NdjsonDecoder, SseDecoder};
use proptest::prelude::*;

use super::{golden::fixtures, run, split_at};

/// Hand-made streams with the tricky bytes: CR / LF / CRLF at every position, BOM, comments,
/// multi-line data, ids with NUL, retries, an over-long event, an unterminated tail.
const TRICKY: &[&[u8]] = &[
    b"\xEF\xBB\xBFdata: a\r\ndata: b\r\rdata:c\n\n: c\r\n\r\nevent: e\rid: 1\0\rid: 2\rdata\r\r",
    b"retry: 10\ndata: x\r\n\r\ndata: this event is longer than the limit of 48 bytes in all\n\ndata: y\r",
    b"\r\n\r\ndata: \xEF\xBB\xBF\n\nevent:\r\ndata:  sp\n\ndata: tail without end",
];

fn sse_inputs() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = TRICKY.iter().map(|b| b.to_vec()).collect();
    inputs.extend(fixtures().into_iter().map(|f| f.raw));
    inputs
}

const NDJSON: &[u8] = b"{\"a\":1}\r\n\n{\"b\":\"two\"}\n\r\n{\"this line\":\"is longer than 48 bytes, so it is an error\"}\r\n{\"c\":3}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sse_any_split_yields_the_same_events(
        which in 0usize..8,
        cuts in proptest::collection::vec(0usize..8192, 0..40),
    ) {
        let inputs = sse_inputs();
        let input = &inputs[which % inputs.len()];
        let whole = run(SseDecoder::with_max_event_bytes(48 * 40), &[input]);
        let split = run(SseDecoder::with_max_event_bytes(48 * 40), &split_at(input, &cuts));
        prop_assert_eq!(&whole, &split);
        let whole = run(SseDecoder::with_max_event_bytes(48), &[input]);
        let split = run(SseDecoder::with_max_event_bytes(48), &split_at(input, &cuts));
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn ndjson_any_split_yields_the_same_records(
        cuts in proptest::collection::vec(0usize..NDJSON.len(), 0..20),
    ) {
        let whole = run(NdjsonDecoder::with_max_line_bytes(48), &[NDJSON]);
        let split = run(NdjsonDecoder::with_max_line_bytes(48), &split_at(NDJSON, &cuts));
        prop_assert_eq!(whole, split);
    }
}

#[test]
fn every_single_cut_and_byte_by_byte_match_whole() {
    for input in sse_inputs() {
        let whole = run(SseDecoder::with_max_event_bytes(48), &[&input]);
        for cut in 0..=input.len() {
            assert_eq!(
                run(
                    SseDecoder::with_max_event_bytes(48),
                    &split_at(&input, &[cut])
                ),
                whole
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(SseDecoder::with_max_event_bytes(48), &bytes), whole);
    }
}
