//! Zero-copy framing (SSE, NDJSON) and the stream driver of codex-pipe.
//!
//! This crate knows nothing about LLM protocols or audio: it turns bytes into frames and frames
//! into bytes.
//!
//! | item | what it does |
//! |---|---|
//! | [`SseDecoder`] | `text/event-stream` → [`SseEvent`] (WHATWG rules: LF / CR / CRLF, BOM, comments, `data` joining, `id`, `retry`), a `tokio_util` [`Decoder`](tokio_util::codec::Decoder) |
//! | [`SseEvent`] | one event: its type and data are two ranges of one [`Bytes`](bytes::Bytes) slice of the read buffer (no copy); `id` / `retry` behind one pointer |
//! | [`SmallBytes`] | the `id` of an [`SseEvent`]: inline up to [`INLINE_CAPACITY`] bytes, a [`Bytes`](bytes::Bytes) beyond |
//! | [`NdjsonDecoder`] | one [`Bytes`](bytes::Bytes) record per `\n`, `\r` trimmed, blank lines skipped |
//! | [`SseEncoder`], [`NdjsonEncoder`], [`JsonArrayEncoder`] | events / records / array elements written straight into a [`BytesMut`](bytes::BytesMut), JSON serialized in place |
//! | [`Drive`], [`Transcoder`] | runs a stateful transcoder over a byte stream: output per input chunk (or per burst of ready chunks), keep-alives, idle timeout, in-band error on failure, cancellation on drop |
//! | [`Frames`], [`ByteStreamExt`] | `stream.sse_events()`, `stream.ndjson_records()`, `stream.transcode(..)` |
//!
//! Zero copy: frames are `split_to().freeze()` slices of the read buffer; the scan of a frame
//! split over many reads resumes where it stopped. Every buffer has a size limit, and errors
//! say whether the stream can go on ([`FrameError::can_continue`]).
//!
//! # How the layers use it
//!
//! The protocols layer (sans-IO) implements [`Transcoder`]: upstream Responses [`SseEvent`]s in,
//! downstream protocol bytes out through [`SseEncoder`] / [`NdjsonEncoder`]. The HTTP layer
//! takes the upstream body as a byte stream (`reqwest::Response::bytes_stream()`), calls
//! [`ByteStreamExt::transcode`] with an [`SseDecoder`], that transcoder and a [`DriveConfig`]
//! (keep-alive, idle timeout), and hands the resulting stream to the response body
//! (`axum::body::Body::from_stream`), logging the final `Err` item if there is one.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use codex_pipe_engine::{ByteStreamExt, DriveConfig, DriveError, SseDecoder, SseEvent};
//! use codex_pipe_engine::{NdjsonEncoder, Transcoder};
//! use futures::StreamExt;
//!
//! /// SSE in, NDJSON out: one `{"delta":…}` line per event, `{"done":true}` at the end.
//! struct ToNdjson;
//!
//! impl Transcoder for ToNdjson {
//!     type Frame = SseEvent;
//!     type Error = serde_json::Error;
//!
//!     fn on_frame(&mut self, ev: SseEvent, out: &mut BytesMut) -> Result<(), Self::Error> {
//!         let delta = std::str::from_utf8(ev.data()).unwrap_or("");
//!         NdjsonEncoder::json(out, &serde_json::json!({ "delta": delta }))
//!     }
//!
//!     fn finish(&mut self, out: &mut BytesMut) -> Result<(), Self::Error> {
//!         NdjsonEncoder::json(out, &serde_json::json!({ "done": true }))
//!     }
//!
//!     fn on_error<E>(&mut self, err: &DriveError<Self::Error, E>, out: &mut BytesMut) {
//!         let _ = NdjsonEncoder::json(out, &serde_json::json!({ "error": err.kind() }));
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! // The upstream body, in arbitrary chunks (here a CRLF split across two reads).
//! let upstream = futures::stream::iter([
//!     Ok::<_, std::io::Error>(Bytes::from_static(b"data: Hel\r")),
//!     Ok(Bytes::from_static(b"\n\r\ndata: lo\n\n")),
//! ]);
//! let chunks: Vec<_> = upstream
//!     .transcode(SseDecoder::new(), ToNdjson, DriveConfig::default())
//!     .collect()
//!     .await;
//! let body: Vec<u8> = chunks.into_iter().flat_map(|c| c.expect("no error").to_vec()).collect();
//! assert_eq!(body, b"{\"delta\":\"Hel\"}\n{\"delta\":\"lo\"}\n{\"done\":true}\n");
//! # });
//! ```

mod driver;
mod encode;
mod error;
mod ndjson;
mod small_bytes;
mod sse;
mod sse_event;
mod stream;

pub use driver::{Drive, DriveConfig, Recovery, Transcoder};
pub use encode::{JsonArrayEncoder, NdjsonEncoder, SseEncoder};
pub use error::{DriveError, FrameError, ReadError};
pub use ndjson::{NdjsonDecoder, DEFAULT_MAX_LINE_BYTES};
pub use small_bytes::{SmallBytes, INLINE_CAPACITY};
pub use sse::{SseDecoder, DEFAULT_MAX_EVENT_BYTES};
pub use sse_event::SseEvent;
pub use stream::{ByteStreamExt, Frames};
