//! Decoding single-`data:`-line events allocates nothing per event: every event is a slice of
//! the shared read buffer. Measured with a counting global allocator (`allocation-counter`).

use bytes::BytesMut;
use codex_pipe_engine::{NdjsonDecoder, SseDecoder};
use tokio_util::codec::Decoder;

const EVENT: &[u8] = b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"Hel\"}\n\n";

#[test]
fn sse_single_data_line_events_allocate_nothing_per_event() {
    const EVENTS: usize = 1000;
    let mut decoder = SseDecoder::new();
    let mut buf = BytesMut::with_capacity(EVENT.len() * EVENTS);
    for _ in 0..EVENTS {
        buf.extend_from_slice(EVENT);
    }
    let mut decoded = 0;
    let info = allocation_counter::measure(|| {
        while let Some(event) = decoder.decode(&mut buf).expect("valid stream") {
            assert_eq!(event.event(), Some(&b"response.output_text.delta"[..]));
            decoded += 1;
        }
    });
    assert_eq!(decoded, EVENTS);
    // The first split turns the buffer into a shared one (one small header allocation); after
    // that, each event is a reference-counted slice.
    assert!(
        info.count_total <= 1,
        "{} allocations for {EVENTS} events",
        info.count_total
    );
}

#[test]
fn sse_streaming_reads_reuse_the_buffer() {
    // 1000 reads of one event each, as a network stream would deliver them: the buffer is
    // reclaimed after each event is dropped, so allocations stay bounded, not per event.
    let mut decoder = SseDecoder::new();
    let mut buf = BytesMut::with_capacity(4096);
    let info = allocation_counter::measure(|| {
        for _ in 0..1000 {
            buf.extend_from_slice(EVENT);
            let event = decoder
                .decode(&mut buf)
                .expect("valid")
                .expect("one event per read");
            assert!(event.data().starts_with(b"{"));
        }
    });
    assert!(
        info.count_total <= 2,
        "{} allocations for 1000 reads",
        info.count_total
    );
}

#[test]
fn multi_line_data_allocates_once_per_event() {
    let mut decoder = SseDecoder::new();
    let mut buf = BytesMut::new();
    for _ in 0..100 {
        buf.extend_from_slice(b"data: {\ndata: }\n\n");
    }
    let info = allocation_counter::measure(|| {
        while let Some(event) = decoder.decode(&mut buf).expect("valid") {
            assert_eq!(event.data(), b"{\n}");
        }
    });
    // One joined buffer per event, plus the shared header and the span list's first growth.
    assert!(
        info.count_total <= 100 + 2,
        "{} allocations",
        info.count_total
    );
}

#[test]
fn ndjson_records_allocate_nothing_per_record() {
    let mut decoder = NdjsonDecoder::new();
    let mut buf = BytesMut::new();
    for _ in 0..1000 {
        buf.extend_from_slice(b"{\"message\":{\"content\":\"Hel\"},\"done\":false}\r\n");
    }
    let info = allocation_counter::measure(|| {
        let mut n = 0;
        while decoder.decode(&mut buf).expect("valid").is_some() {
            n += 1;
        }
        assert_eq!(n, 1000);
    });
    assert!(info.count_total <= 1, "{} allocations", info.count_total);
}
