//! The NDJSON rules with scripted read boundaries.

use bytes::Bytes;
use codex_pipe_engine::NdjsonDecoder;

use super::{run, Out};

fn rec(s: &str) -> Out<Bytes> {
    Out::Frame(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn one_record_per_lf_with_cr_trimmed_and_blank_lines_skipped() {
    let got = run(
        NdjsonDecoder::new(),
        &[b"{\"a\":1}\n\n{\"b\":2}\r\n\r\n  \n{\"c\":\"x\\ry\"}\n"],
    );
    // A line of spaces is not blank (only empty lines are skipped); it is handed on as is.
    assert_eq!(
        got,
        vec![
            rec("{\"a\":1}"),
            rec("{\"b\":2}"),
            rec("  "),
            rec("{\"c\":\"x\\ry\"}")
        ]
    );
}

#[test]
fn only_one_trailing_cr_is_trimmed_and_inner_cr_kept() {
    assert_eq!(
        run(NdjsonDecoder::new(), &[b"a\r\r\nb\rc\n"]),
        vec![rec("a\r"), rec("b\rc")]
    );
}

#[test]
fn split_reads_and_final_line_without_newline() {
    let got = run(
        NdjsonDecoder::new(),
        &[b"{\"do", b"ne\":fal", b"se}\r", b"\n{\"done\":true}"],
    );
    assert_eq!(got, vec![rec("{\"done\":false}"), rec("{\"done\":true}")]);
    // A final "\r" alone is a blank line.
    assert_eq!(run(NdjsonDecoder::new(), &[b"x\n\r"]), vec![rec("x")]);
}

#[test]
fn record_is_a_slice_of_the_read_buffer() {
    use tokio_util::codec::Decoder;
    let mut buf = bytes::BytesMut::from(&b"\n{\"x\":1}\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let record = NdjsonDecoder::new()
        .decode(&mut buf)
        .expect("valid")
        .expect("one record");
    assert_eq!(&record[..], b"{\"x\":1}");
    assert_eq!(record.as_ptr() as usize, base + 1);
}

#[test]
fn over_long_line_is_an_error_and_decoding_continues() {
    let input: &[u8] = b"short\nthis line is too long\nok\n";
    let err = Out::Error("NDJSON line is longer than the limit of 8 bytes".into());
    let want = vec![rec("short"), err.clone(), rec("ok")];
    for size in [1, 2, 5, input.len()] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(
            run(NdjsonDecoder::with_max_line_bytes(8), &chunks),
            want,
            "chunk size {size}"
        );
    }
    // Exactly the limit passes; an over-long unterminated last line is an error too.
    assert_eq!(
        run(NdjsonDecoder::with_max_line_bytes(8), &[b"12345678\n"]),
        vec![rec("12345678")]
    );
    assert_eq!(
        run(NdjsonDecoder::with_max_line_bytes(8), &[b"a\n123456789"]),
        vec![rec("a"), err]
    );
}
