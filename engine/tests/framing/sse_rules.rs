//! One test per WHATWG event-stream rule, each with scripted read boundaries.

use bytes::Bytes;
use codex_pipe_engine::{SseDecoder, SseEvent, INLINE_CAPACITY};

use super::{run, run_with, Out};

fn ev(event: Option<&str>, data: &str) -> Out<SseEvent> {
    Out::Frame(SseEvent::new(
        event.map(str::as_bytes),
        Bytes::copy_from_slice(data.as_bytes()),
    ))
}

fn decode(chunks: &[&[u8]]) -> Vec<Out<SseEvent>> {
    run(SseDecoder::new(), chunks)
}

#[test]
fn lf_cr_and_crlf_line_ends_and_mixed() {
    let want = vec![ev(Some("a"), "1"), ev(Some("b"), "2"), ev(Some("c"), "3")];
    assert_eq!(
        decode(&[b"event: a\ndata: 1\n\nevent: b\rdata: 2\r\revent: c\r\ndata: 3\r\n\r\n"]),
        want
    );
    assert_eq!(
        decode(&[b"event: a\r\ndata: 1\n\revent: b\ndata: 2\r\n\nevent: c\rdata: 3\n\r\n"]),
        want
    );
}

#[test]
fn cr_then_lf_in_the_next_read_is_one_line_end() {
    // If the CR and the LF were two line ends, the LF would be a blank line and dispatch early.
    let got = decode(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(got, vec![ev(None, "a\nb")]);
    // A CR at the very end of a read that ends a blank line dispatches at once; the LF that
    // follows is swallowed, not taken as another blank line or line.
    let got = decode(&[b"data: a\n\r", b"\ndata: b\n\n"]);
    assert_eq!(got, vec![ev(None, "a"), ev(None, "b")]);
}

#[test]
fn cr_at_end_of_read_followed_by_other_byte() {
    let got = decode(&[b"data: a\r", b"data: b\r", b"\r"]);
    assert_eq!(got, vec![ev(None, "a\nb")]);
}

#[test]
fn bom_ignored_only_at_stream_start_even_when_split() {
    assert_eq!(decode(&[b"\xEF\xBB\xBFdata: x\n\n"]), vec![ev(None, "x")]);
    assert_eq!(
        decode(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]),
        vec![ev(None, "x")]
    );
    // A BOM later in the stream is part of the line: "\u{feff}data" is an unknown field.
    assert_eq!(
        decode(&[b"data: x\n\n\xEF\xBB\xBFdata: y\n\n"]),
        vec![ev(None, "x")]
    );
    // A second BOM at the start is not stripped.
    assert_eq!(decode(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: y\n\n"]), vec![]);
    // Bytes that only look like the start of a BOM are kept.
    assert_eq!(decode(&[b"\xEF", b"data: z\n\n"]), vec![]);
}

#[test]
fn comment_lines_are_ignored() {
    assert_eq!(decode(&[b": hi\ndata: x\n: mid\n\n"]), vec![ev(None, "x")]);
}

#[test]
fn comment_only_stream_dispatches_nothing() {
    assert_eq!(decode(&[b": keep-alive\n\n", b":\n\n: x\r\n\r\n"]), vec![]);
}

#[test]
fn data_with_no_space_and_with_two_spaces() {
    assert_eq!(decode(&[b"data:x\n\n"]), vec![ev(None, "x")]);
    assert_eq!(decode(&[b"data:  two\n\n"]), vec![ev(None, " two")]);
    assert_eq!(decode(&[b"data:\ttab\n\n"]), vec![ev(None, "\ttab")]);
}

#[test]
fn data_lines_join_with_lf_and_empty_data_line_dispatches() {
    assert_eq!(
        decode(&[b"data: a\ndata:\ndata: b\n\n"]),
        vec![ev(None, "a\n\nb")]
    );
    // "data" alone (no colon) is a data field with an empty value: one event, empty data.
    assert_eq!(decode(&[b"data\n\n"]), vec![ev(None, "")]);
    assert_eq!(decode(&[b"data\ndata\n\n"]), vec![ev(None, "\n")]);
}

#[test]
fn no_event_without_data() {
    assert_eq!(decode(&[b"event: e\n\nid: 1\n\n\n\n"]), vec![]);
}

#[test]
fn event_type_resets_after_dispatch_and_empty_type_is_none() {
    assert_eq!(
        decode(&[
            b"event: e\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: x\nevent: y\ndata: 4\n\n"
        ]),
        vec![
            ev(Some("e"), "1"),
            ev(None, "2"),
            ev(None, "3"),
            ev(Some("y"), "4")
        ]
    );
    // An event type set by a block without data does not leak into the next block.
    assert_eq!(decode(&[b"event: e\n\ndata: 1\n\n"]), vec![ev(None, "1")]);
}

#[test]
fn fields_in_any_order_with_anything_between_them() {
    // The type may come after the data, other fields and comments may sit between them, and the
    // last `event` field wins; every read split gives the same events.
    let stream: &[u8] = b"data: 1\nevent: late\n\n\
        event: e\n: comment\nretry: 10\ndata: 2\n\n\
        event: x\ndata: 3\nevent: y\n\n\
        data: 4\nevent: z\ndata: 5\n\n\
        event: \ndata: 6\nevent: w\n\n";
    let want = vec![
        ev(Some("late"), "1"),
        Out::Frame(SseEvent::new(Some(b"e"), Bytes::from_static(b"2")).with_retry(Some(10))),
        ev(Some("y"), "3"),
        ev(Some("z"), "4\n5"),
        ev(Some("w"), "6"),
    ];
    assert_eq!(decode(&[stream]), want);
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode(&bytewise), want);
}

/// `raw` in one read buffer: the decoder, the buffer's address and the buffer after the first
/// event was cut off, with that event.
fn first_event(raw: &[u8]) -> (SseDecoder, usize, bytes::BytesMut, SseEvent) {
    use tokio_util::codec::Decoder;
    let mut buf = bytes::BytesMut::from(raw);
    let base = buf.as_ptr() as usize;
    let mut decoder = SseDecoder::new();
    let event = decoder.decode(&mut buf).expect("valid").expect("one event");
    (decoder, base, buf, event)
}

#[test]
fn type_before_data_with_fields_between_is_still_one_slice() {
    let (_, base, _, event) = first_event(b"event: e\n: note\nretry: 5\ndata: payload\n\n");
    assert_eq!(
        (event.event(), event.data()),
        (Some(&b"e"[..]), &b"payload"[..])
    );
    assert_eq!(event.event().map(|e| e.as_ptr() as usize), Some(base + 7));
    assert_eq!(event.data().as_ptr() as usize, base + 31);
    assert_eq!(event.retry(), Some(5));
}

#[test]
fn unknown_fields_and_field_names_are_exact() {
    assert_eq!(
        decode(&[b"foo: bar\nData: no\ndata : no\ndata: yes\n\n"]),
        vec![ev(None, "yes")]
    );
}

fn frames(outs: Vec<Out<SseEvent>>) -> Vec<SseEvent> {
    outs.into_iter()
        .map(|o| match o {
            Out::Frame(f) => f,
            Out::Error(e) => panic!("unexpected error {e}"),
        })
        .collect()
}

#[test]
fn id_persists_resets_and_ignores_nul() {
    let got = frames(decode(&[
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\nid: 3\n\ndata: e\n\n",
    ]));
    let ids: Vec<Option<&[u8]>> = got.iter().map(|e| e.id().map(|id| &id[..])).collect();
    assert_eq!(
        ids,
        vec![
            Some(&b"1"[..]),
            Some(b"1"),
            Some(b"1"),
            Some(b""),
            Some(b"3")
        ],
        "id persists, NUL id ignored, empty id resets, id from a data-less block applies"
    );
}

#[test]
fn last_event_id_and_reconnection_time_are_stream_state() {
    let mut decoder = SseDecoder::new();
    let mut buf = bytes::BytesMut::from(&b"id: 7\nretry: 1500\n\n"[..]);
    assert_eq!(
        tokio_util::codec::Decoder::decode(&mut decoder, &mut buf)
            .ok()
            .flatten(),
        None
    );
    assert_eq!(decoder.last_event_id().map(|b| &b[..]), Some(&b"7"[..]));
    assert_eq!(decoder.reconnection_time(), Some(1500));
}

#[test]
fn retry_accepts_only_ascii_digits() {
    let got = frames(decode(&[
        b"retry: 3000\ndata: a\n\nretry: 12a\ndata: b\n\nretry: -1\ndata: c\n\nretry:\ndata: d\n\nretry:  5\ndata: e\n\nretry: 99999999999999999999999\ndata: f\n\n",
    ]));
    let retries: Vec<Option<u64>> = got.iter().map(|e| e.retry()).collect();
    assert_eq!(retries, vec![Some(3000), None, None, None, None, None]);
}

#[test]
fn incomplete_event_at_eof_is_discarded() {
    assert_eq!(decode(&[b"data: a\n\ndata: b\n"]), vec![ev(None, "a")]);
    assert_eq!(decode(&[b"data: a\n\ndata: b"]), vec![ev(None, "a")]);
    // A CR as the very last byte ends the blank line: the event is complete.
    assert_eq!(decode(&[b"data: a\r\r"]), vec![ev(None, "a")]);
}

#[test]
fn event_split_over_many_reads() {
    let input = b"event: response.output_text.delta\ndata: {\"delta\":\"hello world\"}\n\n";
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        decode(&chunks),
        vec![ev(
            Some("response.output_text.delta"),
            "{\"delta\":\"hello world\"}"
        )]
    );
}

#[test]
fn single_data_line_event_is_a_slice_of_the_read_buffer() {
    let (_, base, _, event) = first_event(b"event: e\ndata: payload\n\n");
    assert_eq!(
        event.data().as_ptr() as usize,
        base + 15,
        "data points into the read buffer"
    );
    let name = event.event().expect("named event");
    assert_eq!(name, b"e");
    assert_eq!(
        name.as_ptr() as usize,
        base + 7,
        "the event type points into the read buffer"
    );
    assert_eq!(event.into_data().as_ptr() as usize, base + 15);
}

#[test]
fn long_event_type_and_id_are_slices_of_the_read_buffer() {
    use tokio_util::codec::Decoder;
    let name = "n".repeat(INLINE_CAPACITY + 1);
    let id = "i".repeat(INLINE_CAPACITY + 5);
    let raw = format!("event: {name}\nid: {id}\ndata: x\n\ndata: y\n\n");
    let (mut decoder, base, mut buf, first) = first_event(raw.as_bytes());
    let event = first.event().expect("named event");
    assert_eq!(event, name.as_bytes());
    assert_eq!(
        event.as_ptr() as usize,
        base + 7,
        "event type points into the buffer"
    );
    let first_id = first.id().cloned().expect("id");
    assert_eq!(&first_id[..], id.as_bytes());
    assert_eq!(first_id.as_ptr() as usize, base + 7 + name.len() + 5);
    // The id persists to the next event, still the same slice.
    let second = decoder
        .decode(&mut buf)
        .expect("valid")
        .expect("second event");
    assert_eq!(second.event(), None);
    assert_eq!(second.id().map(|id| &id[..]), Some(id.as_bytes()));
    assert_eq!(second.id().expect("id").as_ptr(), first_id.as_ptr());
}

const LIMIT_ERR: &str = "SSE event is longer than the limit of 16 bytes";

#[test]
fn over_long_event_is_an_error_and_decoding_continues() {
    let input: &[u8] = b"data: short\n\ndata: this one is far too long\ndata: x\n\ndata: next\n\n";
    let want = vec![
        ev(None, "short"),
        Out::Error(LIMIT_ERR.into()),
        ev(None, "next"),
    ];
    // Whole, and one byte per read (the error is raised before the blank line arrives).
    assert_eq!(run(SseDecoder::with_max_event_bytes(16), &[input]), want);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(SseDecoder::with_max_event_bytes(16), &bytes), want);
    // The limit counts the block's lines with their line ends: exactly 16 bytes passes.
    assert_eq!(
        run(
            SseDecoder::with_max_event_bytes(16),
            &[b"data: 123456789\n\n"]
        ),
        vec![ev(None, "123456789")]
    );
    assert_eq!(
        run(
            SseDecoder::with_max_event_bytes(16),
            &[b"data: 1234567890\n\n"]
        ),
        vec![Out::Error(LIMIT_ERR.into())]
    );
}

#[test]
fn over_long_event_id_and_retry_are_discarded_with_it() {
    let input: &[u8] =
        b"id: 1\ndata: a\n\nid: 2\nretry: 9\ndata: far too long to fit\n\ndata: b\n\n";
    for size in [1, 3, input.len()] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        let mut decoder = SseDecoder::with_max_event_bytes(16);
        let got = run_with(&mut decoder, &chunks);
        assert_eq!(got.len(), 3, "chunk size {size}: {got:?}");
        let Out::Frame(last) = &got[2] else {
            panic!("{got:?}")
        };
        assert_eq!(last.id().map(|id| &id[..]), Some(&b"1"[..]));
        assert_eq!(decoder.reconnection_time(), None);
    }
}
