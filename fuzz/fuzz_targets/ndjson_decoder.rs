//! `NdjsonDecoder` on arbitrary bytes split at fuzzer-chosen points: never panics, yields the
//! same records (and errors) as decoding the stream in one read, and respects its size limit.
#![no_main]

use codex_pipe_engine::NdjsonDecoder;
use codex_pipe_fuzz::{run, split_input, Out};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(input) = split_input(data) else {
        return;
    };
    let whole = run(
        NdjsonDecoder::with_max_line_bytes(input.limit),
        &[input.stream],
    );
    let split = run(
        NdjsonDecoder::with_max_line_bytes(input.limit),
        &input.reads,
    );
    assert_eq!(whole, split);
    for out in &whole {
        if let Out::Frame(record) = out {
            assert!(!record.is_empty() && record.len() <= input.limit);
            assert!(!record.contains(&b'\n'));
        }
    }
});
