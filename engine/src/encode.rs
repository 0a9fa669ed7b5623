//! Encoders that write SSE events and NDJSON records straight into a [`BytesMut`].
//!
//! The output of these encoders is exactly what [`crate::SseDecoder`] and
//! [`crate::NdjsonDecoder`] read back: JSON is serialized once, with [`serde_json::to_writer`],
//! into the spare capacity of the output buffer; no intermediate `String` is built.

use bytes::{BufMut, BytesMut};
use serde::Serialize;

/// Writes `text/event-stream` events (WHATWG HTML §9.2 "Server-sent events") into a [`BytesMut`].
///
/// Every event written ends with a blank line (`\n\n`): "When a blank line is encountered,
/// dispatch the event", and clients drop a last event that has no blank line after it
/// (clients.md §3.1), so nothing here leaves an event open.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use codex_pipe_engine::SseEncoder;
///
/// let mut buf = BytesMut::new();
/// SseEncoder::json(&mut buf, Some("message_stop"), &serde_json::json!({"type": "message_stop"}))
///     .expect("a JSON value always serializes");
/// SseEncoder::data(&mut buf, None, b"[DONE]");
/// assert_eq!(
///     &buf[..],
///     b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\ndata: [DONE]\n\n"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SseEncoder;

impl SseEncoder {
    /// A comment event used as a keep-alive: `: keep-alive\n\n`.
    ///
    /// "Lines starting with a U+003A COLON character (:) are comments" and are ignored by
    /// every conforming parser; the blank line after it makes it a complete (empty) block.
    pub const KEEP_ALIVE: &'static [u8] = b": keep-alive\n\n";

    /// Writes `event: <name>\n` (when `event` is `Some`) then `data: <compact json>\n\n`.
    ///
    /// The JSON is serialized straight into `buf` in compact form (serde_json never emits a raw
    /// LF or CR inside compact JSON: control characters in strings are escaped), so the value
    /// always fits on one `data:` line.
    ///
    /// `event` is written verbatim; it must not contain CR or LF (an event type never does).
    ///
    /// # Errors
    /// Returns the [`serde_json::Error`] raised by `value`'s `Serialize` impl (for example a map
    /// with non-string keys). On error `buf` is truncated back to its length before the call, so
    /// no partial event is ever left in the output.
    pub fn json<T: Serialize + ?Sized>(
        buf: &mut BytesMut,
        event: Option<&str>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let start = buf.len();
        write_event_line(buf, event);
        buf.put_slice(b"data: ");
        let mut writer = buf.writer();
        match serde_json::to_writer(&mut writer, value) {
            Ok(()) => {
                writer.into_inner().put_slice(b"\n\n");
                Ok(())
            }
            Err(err) => {
                writer.into_inner().truncate(start);
                Err(err)
            }
        }
    }

    /// Writes raw `data` as one event, preceded by `event: <name>\n` when `event` is `Some`.
    ///
    /// Embedded line ends (LF, CR or CRLF, the three end-of-line forms of the event-stream
    /// grammar) split `data` into several `data:` lines, so that a conforming parser, which
    /// joins `data` lines with a single LF, reads back the same bytes with every CR / CRLF
    /// normalized to LF. Empty `data` writes a single `data: ` line, which a parser reads back as
    /// one event with empty data (the data buffer holds one LF, which dispatch strips).
    pub fn data(buf: &mut BytesMut, event: Option<&str>, data: &[u8]) {
        write_event_line(buf, event);
        let mut rest = data;
        loop {
            buf.put_slice(b"data: ");
            match memchr::memchr2(b'\n', b'\r', rest) {
                Some(pos) => {
                    buf.put_slice(&rest[..pos]);
                    buf.put_u8(b'\n');
                    let skip = if rest[pos] == b'\r' && rest.get(pos + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    rest = &rest[pos + skip..];
                }
                None => {
                    buf.put_slice(rest);
                    buf.put_slice(b"\n\n");
                    return;
                }
            }
        }
    }

    /// Writes a comment block `: <text>\n\n`.
    ///
    /// Line ends inside `text` each start a new `: ` comment line, so the text can never leak
    /// into a field line.
    pub fn comment(buf: &mut BytesMut, text: &str) {
        for line in text.split(['\n', '\r']) {
            buf.put_slice(b": ");
            buf.put_slice(line.as_bytes());
            buf.put_u8(b'\n');
        }
        buf.put_u8(b'\n');
    }
}

fn write_event_line(buf: &mut BytesMut, event: Option<&str>) {
    if let Some(name) = event {
        buf.put_slice(b"event: ");
        buf.put_slice(name.as_bytes());
        buf.put_u8(b'\n');
    }
}

/// Writes newline-delimited JSON records (one compact JSON value per `\n`-terminated line, as
/// the Ollama API streams them) into a [`BytesMut`].
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use codex_pipe_engine::NdjsonEncoder;
///
/// let mut buf = BytesMut::new();
/// NdjsonEncoder::json(&mut buf, &serde_json::json!({"done": true})).expect("serializes");
/// assert_eq!(&buf[..], b"{\"done\":true}\n");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NdjsonEncoder;

impl NdjsonEncoder {
    /// Serializes `value` as compact JSON straight into `buf`, followed by one `\n`.
    ///
    /// Compact serde_json output never contains a raw LF, so one value is always one line.
    ///
    /// # Errors
    /// Returns the [`serde_json::Error`] raised by `value`'s `Serialize` impl; `buf` is then
    /// truncated back to its length before the call.
    pub fn json<T: Serialize + ?Sized>(
        buf: &mut BytesMut,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let start = buf.len();
        let mut writer = buf.writer();
        match serde_json::to_writer(&mut writer, value) {
            Ok(()) => {
                writer.into_inner().put_u8(b'\n');
                Ok(())
            }
            Err(err) => {
                writer.into_inner().truncate(start);
                Err(err)
            }
        }
    }
}

/// Writes one JSON array element by element, so that an array can be streamed: `[` before
/// the first element, `,` between elements, `]` at the end (RFC 8259 §5). This is how the
/// Gemini API streams `streamGenerateContent` without `alt=sse`: a client reads the elements
/// as they arrive, before the array is closed.
///
/// Each element is written compact and followed by `\n` (whitespace is allowed between
/// values), so a human watching the stream sees one element per line.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use codex_pipe_engine::JsonArrayEncoder;
///
/// let mut array = JsonArrayEncoder::new();
/// let mut buf = BytesMut::new();
/// array.element(&mut buf, &serde_json::json!({"a": 1})).expect("serializes");
/// array.element(&mut buf, &2).expect("serializes");
/// array.finish(&mut buf);
/// assert_eq!(&buf[..], b"[{\"a\":1}\n,2\n]");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonArrayEncoder {
    opened: bool,
    closed: bool,
}

impl JsonArrayEncoder {
    /// An encoder that has written nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once an element or the closing bracket was written.
    pub fn is_started(&self) -> bool {
        self.opened
    }

    /// True once [`Self::finish`] ran.
    pub fn is_finished(&self) -> bool {
        self.closed
    }

    /// Writes `value` as the next element. Ignored after [`Self::finish`].
    ///
    /// # Errors
    /// The [`serde_json::Error`] of `value`'s `Serialize` impl; `buf` is then truncated back
    /// to its length before the call and the encoder state is unchanged.
    pub fn element<T: Serialize + ?Sized>(
        &mut self,
        buf: &mut BytesMut,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        if self.closed {
            return Ok(());
        }
        let start = buf.len();
        buf.put_u8(if self.opened { b',' } else { b'[' });
        let mut writer = buf.writer();
        match serde_json::to_writer(&mut writer, value) {
            Ok(()) => {
                writer.into_inner().put_u8(b'\n');
                self.opened = true;
                Ok(())
            }
            Err(err) => {
                writer.into_inner().truncate(start);
                Err(err)
            }
        }
    }

    /// Closes the array (`[]` when no element was written). Idempotent.
    pub fn finish(&mut self, buf: &mut BytesMut) {
        if self.closed {
            return;
        }
        if !self.opened {
            buf.put_u8(b'[');
            self.opened = true;
        }
        buf.put_u8(b']');
        self.closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn json_with_and_without_event_line() {
        let mut buf = BytesMut::new();
        SseEncoder::json(&mut buf, Some("response.created"), &[1, 2]).expect("serializes");
        SseEncoder::json(&mut buf, None, "a\nb").expect("serializes");
        assert_eq!(
            &buf[..],
            b"event: response.created\ndata: [1,2]\n\ndata: \"a\\nb\"\n\n"
        );
    }

    #[test]
    fn json_error_leaves_buffer_untouched() {
        // A map with non-string keys cannot be serialized as a JSON object.
        let mut bad = BTreeMap::new();
        bad.insert(vec![1u8], 1u8);
        let mut buf = BytesMut::from(&b"prefix"[..]);
        assert!(SseEncoder::json(&mut buf, Some("x"), &bad).is_err());
        assert_eq!(&buf[..], b"prefix");
        assert!(NdjsonEncoder::json(&mut buf, &bad).is_err());
        assert_eq!(&buf[..], b"prefix");
    }

    #[test]
    fn data_splits_every_line_end_form() {
        let mut buf = BytesMut::new();
        SseEncoder::data(&mut buf, Some("e"), b"a\nb\r\nc\rd");
        assert_eq!(
            &buf[..],
            b"event: e\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        buf.clear();
        SseEncoder::data(&mut buf, None, b"x\n");
        assert_eq!(&buf[..], b"data: x\ndata: \n\n");
        buf.clear();
        SseEncoder::data(&mut buf, None, b"");
        assert_eq!(&buf[..], b"data: \n\n");
    }

    #[test]
    fn comment_and_keep_alive() {
        let mut buf = BytesMut::new();
        SseEncoder::comment(&mut buf, "keep-alive");
        assert_eq!(&buf[..], SseEncoder::KEEP_ALIVE);
        buf.clear();
        SseEncoder::comment(&mut buf, "a\nb");
        assert_eq!(&buf[..], b": a\n: b\n\n");
    }

    #[test]
    fn json_array_streams_elements_and_always_closes() {
        let mut array = JsonArrayEncoder::new();
        let mut buf = BytesMut::new();
        array.finish(&mut buf);
        array.finish(&mut buf);
        assert_eq!(&buf[..], b"[]");
        let parsed: Vec<u8> = serde_json::from_slice(&buf).expect("valid JSON");
        assert!(parsed.is_empty());

        let mut array = JsonArrayEncoder::new();
        let mut buf = BytesMut::new();
        let mut bad = BTreeMap::new();
        bad.insert(vec![1u8], 1u8);
        assert!(array.element(&mut buf, &bad).is_err());
        assert!(buf.is_empty() && !array.is_started());
        array.element(&mut buf, "a\nb").expect("serializes");
        array.element(&mut buf, &[1, 2]).expect("serializes");
        array.finish(&mut buf);
        array.element(&mut buf, &3).expect("ignored after finish");
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("valid JSON");
        assert_eq!(v, serde_json::json!(["a\nb", [1, 2]]));
    }

    #[test]
    fn ndjson_one_line_per_value() {
        let mut buf = BytesMut::new();
        NdjsonEncoder::json(&mut buf, &serde_json::json!({"a": "x\ny"})).expect("serializes");
        NdjsonEncoder::json(&mut buf, &3).expect("serializes");
        assert_eq!(&buf[..], b"{\"a\":\"x\\ny\"}\n3\n");
    }
}
