//! `SseDecoder` on arbitrary bytes split at fuzzer-chosen points: never panics, yields the same
//! events (and errors) as decoding the stream in one read, and respects its size limit.
#![no_main]

use codex_pipe_engine::SseDecoder;
use codex_pipe_fuzz::{run, split_input, Out};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(input) = split_input(data) else {
        return;
    };
    let whole = run(
        SseDecoder::with_max_event_bytes(input.limit),
        &[input.stream],
    );
    let split = run(SseDecoder::with_max_event_bytes(input.limit), &input.reads);
    assert_eq!(whole, split);
    for out in &whole {
        if let Out::Frame(event) = out {
            // The data is cut from a block no longer than the limit; line ends never leak into
            // a value (joined data lines are separated by LF only).
            assert!(event.data().len() <= input.limit);
            assert!(!event.data().contains(&b'\r'));
            if let Some(name) = event.event() {
                assert!(!name.is_empty() && !name.contains(&b'\r') && !name.contains(&b'\n'));
            }
        }
    }
});
