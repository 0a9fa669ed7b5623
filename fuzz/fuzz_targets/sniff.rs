//! `sniff` and `codec_hint` on arbitrary bytes: never panic, and sniffing is a pure function of
//! the window (the same bytes give the same answer).
#![no_main]

use codex_pipe_codecs::sniff::{codec_hint, sniff, Sniffed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = sniff(data);
    assert_eq!(first, sniff(data));
    if let Sniffed::Known(container) = first {
        let _ = codec_hint(data, container);
    }
});
