//! Unit tests of the SSE decoder's fast path against its general scan.
use super::*;
use bytes::Bytes;

/// A decoded event as `(event, data, id)`, or the error's message.
type Outcome = Result<(Vec<u8>, Vec<u8>, Vec<u8>), String>;

/// Every event of `stream` fed whole (the shortcut for the common block shape) and one
/// byte per read (the general scan, nearly always), as `(event, data, id)` or the error.
fn both_ways(stream: &[u8], limit: usize) -> [Vec<Outcome>; 2] {
    let run = |reads: Vec<&[u8]>| {
        let mut decoder = SseDecoder::with_max_event_bytes(limit);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut push = |r: Result<Option<SseEvent>, FrameError>| match r {
            Ok(Some(e)) => {
                let id = e.id().map(|id| id.to_vec()).unwrap_or_default();
                let event = e.event().map(<[u8]>::to_vec).unwrap_or_default();
                out.push(Ok((event, e.data().to_vec(), id)));
                true
            }
            Ok(None) => false,
            Err(err) => {
                out.push(Err(err.to_string()));
                true
            }
        };
        for read in reads {
            buf.extend_from_slice(read);
            while push(decoder.decode(&mut buf)) {}
        }
        while push(decoder.decode_eof(&mut buf)) {}
        out
    };
    [run(vec![stream]), run(stream.chunks(1).collect())]
}

#[test]
fn common_block_shortcut_follows_the_general_rules() {
    let stream: &[u8] = b"event: a\ndata: 1\n\n\
        data: 2\n\n\
        event: \ndata: empty type\n\n\
        event: b\rdata: cr ends the event line\n\n\
        event: c\ndata: x\ry\n\n\
        data:  two spaces\n\n\
        id: 7\n\nevent: d\ndata: keeps the id\n\n\
        event: e\ndata: 3\ndata: 4\n\n\
        event: response.function_call_arguments.delta.too.long.to.inline\ndata: 5\n\n\
        event: f\ndata: 6\n\r\n\
        event: g\ndata: 01234567890123456789012345678901234567890123456789012345678901234\n\n\
        event: h\ndata: 0123456789012345678901234567890123456789012345678901234567890123\n\n\
        event: i\ndata: cut off";
    let [whole, bytewise] = both_ways(stream, 80);
    assert_eq!(whole, bytewise);
    let ok = |e: &str, d: &str, id: &str| Ok((e.into(), d.into(), id.into()));
    assert_eq!(
        whole,
        vec![
            ok("a", "1", ""),
            ok("", "2", ""),
            ok("", "empty type", ""),
            ok("b", "cr ends the event line", ""),
            ok("c", "x", ""),
            ok("", " two spaces", ""),
            ok("d", "keeps the id", "7"),
            ok("e", "3\n4", "7"),
            ok(
                "response.function_call_arguments.delta.too.long.to.inline",
                "5",
                "7"
            ),
            ok("f", "6", "7"),
            Err(FrameError::EventTooLong { limit: 80 }.to_string()),
            ok(
                "h",
                "0123456789012345678901234567890123456789012345678901234567890123",
                "7"
            ),
        ]
    );
}

#[test]
fn rare_fields_keep_the_event_small_and_compare_by_value() {
    // Returned by value from every `decode` call: one `Bytes`, two offsets, one pointer.
    assert_eq!(std::mem::size_of::<SseEvent>(), 48);
    let plain = SseEvent::new(Some(b"e"), Bytes::from_static(b"d"));
    assert_eq!((plain.event(), plain.data()), (Some(&b"e"[..]), &b"d"[..]));
    assert_eq!(plain.event_type(), b"e");
    assert_eq!(
        SseEvent::new(Some(b""), Bytes::new()).event_type(),
        b"message"
    );
    assert_eq!((plain.id(), plain.retry()), (None, None));
    let both = plain
        .clone()
        .with_id(Some(SmallBytes::from("7")))
        .with_retry(Some(1500));
    assert_eq!(both.id().map(|id| &id[..]), Some(&b"7"[..]));
    assert_eq!(both.retry(), Some(1500));
    // Clearing both gives back the plain event, whatever the order.
    assert_eq!(both.clone().with_id(None).with_retry(None), plain);
    assert_eq!(both.clone().with_retry(None).with_id(None), plain);
    assert_ne!(both.clone().with_retry(None), plain);
    let debug = format!("{both:?}");
    assert!(debug.contains("id: Some(b\"7\")") && debug.contains("retry: Some(1500)"));
}
