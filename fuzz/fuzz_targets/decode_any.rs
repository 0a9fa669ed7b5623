//! The whole decode path (sniff → demux → decode) on arbitrary bytes, from a one-way stream as
//! from stdin: any input ends in a summary or a typed `CodecError`, never a panic or a hang.
//! SILK is excluded (it runs an external program); everything symphonia and libopus read is in.
#![no_main]

use codex_pipe_codecs::{probe, DecodeOptions, Input, SilkOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions {
        silk: SilkOptions {
            enabled: false,
            ..SilkOptions::default()
        },
        ..DecodeOptions::default()
    };
    let input = Input::stream(std::io::Cursor::new(data.to_vec()));
    if let Ok(report) = probe(input, &opts) {
        let _ = report.decoded;
    }
});
