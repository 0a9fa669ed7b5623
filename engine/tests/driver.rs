//! The stream driver: output per input chunk, keep-alives, idle timeout, finish, in-band
//! errors, framing-error recovery and cancellation, on tokio's paused clock.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{
    ByteStreamExt, DriveConfig, DriveError, FrameError, Recovery, SseDecoder, SseEncoder, SseEvent,
    Transcoder,
};
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};

/// Writes `<data>` per event, `[end]` on finish, `[skip]` for a skipped frame and
/// `[error:<kind>]` in band when the stream fails.
#[derive(Default)]
struct Echo {
    fail_on: Option<&'static [u8]>,
    fail_finish: bool,
    recover: bool,
}

impl Transcoder for Echo {
    type Frame = SseEvent;
    type Error = String;

    fn on_frame(&mut self, frame: SseEvent, out: &mut BytesMut) -> Result<(), String> {
        if Some(frame.data()) == self.fail_on {
            return Err("bad frame".into());
        }
        out.extend_from_slice(b"<");
        out.extend_from_slice(frame.data());
        out.extend_from_slice(b">");
        Ok(())
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), String> {
        if self.fail_finish {
            return Err("closed before the terminal event".into());
        }
        out.extend_from_slice(b"[end]");
        Ok(())
    }

    fn on_frame_error(&mut self, _err: &FrameError, out: &mut BytesMut) -> Recovery {
        out.extend_from_slice(b"[skip]");
        if self.recover {
            Recovery::Continue
        } else {
            Recovery::Stop
        }
    }

    fn on_error<E>(&mut self, err: &DriveError<String, E>, out: &mut BytesMut) {
        out.extend_from_slice(format!("[error:{}]", err.kind()).as_bytes());
    }
}

type Chunk = Result<Bytes, std::io::Error>;

fn ok(bytes: &'static [u8]) -> Chunk {
    Ok(Bytes::from_static(bytes))
}

fn text(item: Option<Result<Bytes, DriveError<String, std::io::Error>>>) -> String {
    let bytes = item.expect("an item").expect("an Ok chunk");
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[tokio::test(start_paused = true)]
async fn output_is_yielded_per_input_chunk_before_the_next_chunk_exists() {
    let (mut tx, rx) = mpsc::channel::<Chunk>(4);
    let mut drive = rx.transcode(SseDecoder::new(), Echo::default(), DriveConfig::default());
    tx.send(ok(b"data: a\n\ndata: b\n\ndata: par"))
        .await
        .expect("send");
    assert_eq!(text(drive.next().await), "<a><b>");
    // Nothing more until more bytes arrive.
    assert!(drive.next().now_or_never().is_none());
    tx.send(ok(b"tial\n\n")).await.expect("send");
    assert_eq!(text(drive.next().await), "<partial>");
    drop(tx);
    assert_eq!(text(drive.next().await), "[end]");
    assert!(drive.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn finish_runs_after_eof_handling_and_drops_an_incomplete_event() {
    let upstream = futures::stream::iter([ok(b"data: a\r"), ok(b"\n\r\ndata: never")]);
    let out: Vec<String> = upstream
        .transcode(SseDecoder::new(), Echo::default(), DriveConfig::default())
        .map(|c| text(Some(c)))
        .collect()
        .await;
    assert_eq!(out, vec!["<a>", "[end]"]);
}

#[tokio::test(start_paused = true)]
async fn keep_alive_while_idle_and_reset_by_output() {
    let (mut tx, rx) = mpsc::channel::<Chunk>(4);
    let config = DriveConfig::default().keep_alive(Duration::from_secs(15), SseEncoder::KEEP_ALIVE);
    let mut drive = rx.transcode(SseDecoder::new(), Echo::default(), config);
    let start = tokio::time::Instant::now();
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    tokio::time::advance(Duration::from_secs(10)).await;
    tx.send(ok(b"data: x\n\n")).await.expect("send");
    assert_eq!(text(drive.next().await), "<x>");
    // The event at 40 s restarts the interval: the next keep-alive is at 55 s, not 45 s.
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(55));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_ends_with_in_band_error_then_typed_error() {
    let (mut tx, rx) = mpsc::channel::<Chunk>(4);
    let config = DriveConfig::default()
        .keep_alive(Duration::from_secs(2), SseEncoder::KEEP_ALIVE)
        .idle_timeout(Duration::from_secs(5));
    let mut drive = rx.transcode(SseDecoder::new(), Echo::default(), config);
    let start = tokio::time::Instant::now();
    tx.send(ok(b": upstream comment\n\n")).await.expect("send");
    // The comment (no output) is read at 0 s; the first keep-alive comes at 2 s.
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    // Upstream activity at 2.5 s moves the idle deadline to 7.5 s; keep-alives sent at 4 s
    // and 6 s do not count as upstream activity.
    tokio::time::advance(Duration::from_millis(500)).await;
    tx.send(ok(b": still alive\n\n")).await.expect("send");
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    assert_eq!(text(drive.next().await).as_bytes(), SseEncoder::KEEP_ALIVE);
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    assert_eq!(text(drive.next().await), "[error:idle_timeout]");
    assert_eq!(start.elapsed(), Duration::from_millis(7500));
    match drive.next().await {
        Some(Err(DriveError::IdleTimeout { after })) => assert_eq!(after, Duration::from_secs(5)),
        other => panic!("expected an idle timeout, got {other:?}"),
    }
    assert!(drive.next().await.is_none());
}

#[tokio::test]
async fn transport_error_is_reported_in_band_then_typed() {
    let upstream = futures::stream::iter([
        ok(b"data: a\n\n"),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )),
        ok(b"data: never\n\n"),
    ]);
    let mut drive = upstream.transcode(SseDecoder::new(), Echo::default(), DriveConfig::default());
    assert_eq!(text(drive.next().await), "<a>");
    assert_eq!(text(drive.next().await), "[error:transport]");
    match drive.next().await {
        Some(Err(DriveError::Transport(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset)
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(drive.next().await.is_none());
}

#[tokio::test]
async fn transcoder_errors_in_frame_and_finish() {
    let echo = Echo {
        fail_on: Some(b"bad"),
        ..Echo::default()
    };
    let upstream = futures::stream::iter([ok(b"data: a\n\ndata: bad\n\ndata: c\n\n")]);
    let items: Vec<_> = upstream
        .transcode(SseDecoder::new(), echo, DriveConfig::default())
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(
        &items[0].as_ref().expect("ok")[..],
        b"<a>[error:transcoder]"
    );
    assert!(matches!(&items[1], Err(DriveError::Transcoder(m)) if m == "bad frame"));

    let echo = Echo {
        fail_finish: true,
        ..Echo::default()
    };
    let upstream = futures::stream::iter([ok(b"data: a\n\n")]);
    let items: Vec<_> = upstream
        .transcode(SseDecoder::new(), echo, DriveConfig::default())
        .collect()
        .await;
    assert_eq!(&items[0].as_ref().expect("ok")[..], b"<a>");
    assert_eq!(&items[1].as_ref().expect("ok")[..], b"[error:transcoder]");
    assert!(matches!(&items[2], Err(DriveError::Transcoder(_))));
    assert_eq!(items.len(), 3);
}

#[tokio::test]
async fn recoverable_framing_error_continue_or_stop() {
    let input: &[&'static [u8]] = &[
        b"data: a\n\ndata: far too long for the limit\n\n",
        b"data: b\n\n",
    ];
    let chunks = || futures::stream::iter(input.iter().map(|b| ok(b)));
    let echo = Echo {
        recover: true,
        ..Echo::default()
    };
    let out: Vec<_> = chunks()
        .transcode(
            SseDecoder::with_max_event_bytes(16),
            echo,
            DriveConfig::default(),
        )
        .map(|c| text(Some(c)))
        .collect()
        .await;
    assert_eq!(out.concat(), "<a>[skip]<b>[end]");

    let items: Vec<_> = chunks()
        .transcode(
            SseDecoder::with_max_event_bytes(16),
            Echo::default(),
            DriveConfig::default(),
        )
        .collect()
        .await;
    assert_eq!(
        &items[0].as_ref().expect("ok")[..],
        b"<a>[skip][error:framing]"
    );
    assert!(matches!(
        &items[1],
        Err(DriveError::Framing(FrameError::EventTooLong { limit: 16 }))
    ));
    assert_eq!(items.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_driver_drops_the_upstream() {
    let (mut tx, rx) = mpsc::channel::<Chunk>(4);
    let config = DriveConfig::default().keep_alive(Duration::from_secs(1), SseEncoder::KEEP_ALIVE);
    let mut drive = rx.transcode(SseDecoder::new(), Echo::default(), config);
    tx.send(ok(b"data: a\n\n")).await.expect("send");
    assert_eq!(text(drive.next().await), "<a>");
    assert!(!tx.is_closed());
    drop(drive);
    assert!(
        tx.is_closed(),
        "the upstream receiver was dropped with the driver"
    );
    assert!(tx.send(ok(b"data: b\n\n")).await.is_err());
}

#[test]
fn runs_without_tokio_when_no_timer_is_set() {
    let upstream = futures::stream::iter([ok(b"data: a\n\n")]);
    let out: Vec<_> = futures::executor::block_on(
        upstream
            .transcode(SseDecoder::new(), Echo::default(), DriveConfig::default())
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn coalescing_joins_only_chunks_that_are_already_there() {
    let (mut tx, rx) = mpsc::channel::<Chunk>(8);
    let config = DriveConfig::default().coalesce(64 * 1024);
    let mut drive = rx.transcode(SseDecoder::new(), Echo::default(), config);
    // Three chunks already queued: one output chunk.
    for data in [&b"data: a\n\n"[..], b"data: b\n\n", b"data: c\n\n"] {
        tx.send(Ok(Bytes::from_static(data))).await.expect("send");
    }
    assert_eq!(text(drive.next().await), "<a><b><c>");
    // A chunk that has not arrived is not waited for: the next one leaves alone, at once.
    assert!(drive.next().now_or_never().is_none());
    tx.send(ok(b"data: d\n\n")).await.expect("send");
    assert_eq!(text(drive.next().await), "<d>");
    drop(tx);
    assert_eq!(text(drive.next().await), "[end]");

    // The byte limit cuts a burst into several chunks: reading stops once the output reaches it.
    let (mut tx, rx) = mpsc::channel::<Chunk>(8);
    let mut drive = rx.transcode(
        SseDecoder::new(),
        Echo::default(),
        DriveConfig::default().coalesce(4),
    );
    for data in [&b"data: a\n\n"[..], b"data: b\n\n", b"data: c\n\n"] {
        tx.send(Ok(Bytes::from_static(data))).await.expect("send");
    }
    assert_eq!(text(drive.next().await), "<a><b>");
    assert_eq!(text(drive.next().await), "<c>");
}

/// Writes an opening before its first keep-alive, and none after `quiet` is set.
#[derive(Default)]
struct Opens {
    opened: bool,
    quiet: bool,
}

impl Transcoder for Opens {
    type Frame = SseEvent;
    type Error = String;

    fn on_frame(&mut self, _frame: SseEvent, _out: &mut BytesMut) -> Result<(), String> {
        Ok(())
    }

    fn finish(&mut self, _out: &mut BytesMut) -> Result<(), String> {
        Ok(())
    }

    fn on_keep_alive(&mut self, frame: &Bytes, out: &mut BytesMut) {
        if self.quiet {
            return;
        }
        if !self.opened {
            self.opened = true;
            out.extend_from_slice(b"[open]");
        }
        out.extend_from_slice(frame);
    }
}

#[tokio::test(start_paused = true)]
async fn the_transcoder_decides_what_a_keep_alive_writes_and_can_be_reached_between_items() {
    let (_tx, rx) = mpsc::channel::<Chunk>(4);
    let config = DriveConfig::default().keep_alive(Duration::from_secs(15), &b"[ka]"[..]);
    let mut drive = Box::pin(rx.transcode(SseDecoder::new(), Opens::default(), config));
    assert_eq!(text(drive.next().await), "[open][ka]");
    assert_eq!(text(drive.next().await), "[ka]");
    // Silenced between two items through `transcoder_mut`: no more output, no busy loop.
    drive.as_mut().transcoder_mut().quiet = true;
    let start = tokio::time::Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(100), drive.next()).await;
    assert!(
        next.is_err(),
        "nothing is written while the transcoder stays quiet"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(100));
    assert!(drive.transcoder().opened);
}
