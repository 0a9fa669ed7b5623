//! The golden fixtures of `testdata/sse/` (see its README): every fixture decodes to its
//! `*.expected.ndjson`, whole and at every read size, and agrees with the `eventsource-stream`
//! crate used as a reference decoder.

use std::path::PathBuf;

use bytes::Bytes;
use codex_pipe_engine::{ByteStreamExt, SmallBytes, SseDecoder, SseEvent};
use futures::StreamExt;
use serde::Deserialize;

use super::{run, Out};

/// One fixture: its name, raw bytes and expected events.
pub struct Fixture {
    pub name: String,
    pub raw: Vec<u8>,
    pub expected: Vec<SseEvent>,
}

#[derive(Deserialize)]
struct Expected {
    event: Option<String>,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/sse")
}

/// Every `*.sse` fixture with its expected events, sorted by name.
pub fn fixtures() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("testdata/sse exists")
        .filter_map(|e| {
            let name = e
                .expect("readable dir entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name");
            name.strip_suffix(".sse").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let raw = std::fs::read(dir().join(format!("{name}.sse"))).expect("fixture readable");
            let text = std::fs::read_to_string(dir().join(format!("{name}.expected.ndjson")))
                .expect("expected file readable");
            let expected = text
                .lines()
                .map(|line| {
                    let e: Expected = serde_json::from_str(line).expect("expected line is JSON");
                    SseEvent::new(e.event.as_deref().map(str::as_bytes), Bytes::from(e.data))
                        .with_id(e.id.map(SmallBytes::from))
                        .with_retry(e.retry)
                })
                .collect();
            Fixture {
                name,
                raw,
                expected,
            }
        })
        .collect()
}

#[test]
fn there_are_fixtures() {
    let all = fixtures();
    assert!(all.len() >= 6, "found {}", all.len());
    assert!(all.iter().all(|f| !f.expected.is_empty()));
}

#[test]
fn fixtures_decode_to_their_expected_events_at_every_read_size() {
    for fixture in fixtures() {
        let want: Vec<Out<SseEvent>> = fixture.expected.iter().cloned().map(Out::Frame).collect();
        for size in [1, 2, 3, 7, 64, 1536, 16 * 1024, fixture.raw.len()] {
            let chunks: Vec<&[u8]> = fixture.raw.chunks(size).collect();
            assert_eq!(
                run(SseDecoder::new(), &chunks),
                want,
                "{} at {size} B reads",
                fixture.name
            );
        }
    }
}

#[test]
fn fixtures_agree_with_eventsource_stream() {
    futures::executor::block_on(async {
        for fixture in fixtures() {
            if fixture.raw.starts_with(b"\xEF\xBB\xBF") {
                // eventsource-stream 0.2.3 panics on a leading BOM (it slices the string at
                // byte 1, inside U+FEFF); the expected file covers that fixture.
                continue;
            }
            let ours: Vec<SseEvent> = futures::stream::iter(
                fixture
                    .raw
                    .chunks(64)
                    .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))),
            )
            .sse_events()
            .map(|e| e.expect("fixture decodes"))
            .collect()
            .await;
            // eventsource-stream waits for a byte after a final CR (to see whether it is a CRLF)
            // and so never dispatches an event that ends the stream with CR; an LF after that
            // CR keeps the same line ends and lets it finish.
            let mut raw = fixture.raw.clone();
            if raw.ends_with(b"\r") {
                raw.push(b'\n');
            }
            let reference: Vec<eventsource_stream::Event> =
                eventsource_stream::EventStream::new(futures::stream::iter([Ok::<
                    _,
                    std::io::Error,
                >(
                    Bytes::from(raw)
                )]))
                .map(|e| e.expect("reference decodes"))
                .collect()
                .await;
            assert_eq!(ours.len(), reference.len(), "{}", fixture.name);
            for (a, b) in ours.iter().zip(&reference) {
                assert_eq!(a.event_type(), b.event.as_bytes(), "{}", fixture.name);
                assert_eq!(a.data(), b.data.as_bytes(), "{}", fixture.name);
                assert_eq!(
                    a.id().map_or(&b""[..], |id| &id[..]),
                    b.id.as_bytes(),
                    "{}",
                    fixture.name
                );
            }
        }
    });
}
