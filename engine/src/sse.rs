//! `text/event-stream` decoding (WHATWG HTML §9.2.6 "Parsing an event stream").

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::FrameError;
use crate::small_bytes::SmallBytes;
use crate::sse_event::{Rare, SseEvent};

/// The default for [`SseDecoder::with_max_event_bytes`]: 16 MiB.
///
/// Large enough for a `response.completed` carrying a whole response or a base64 image
/// (`partial_image_b64`), small enough that a hostile upstream cannot grow the read buffer
/// without bound.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// What the block being scanned has seen so far; offsets are into the read buffer, whose first
/// byte is always the first byte of the block.
#[derive(Debug, Default)]
struct Block {
    /// Bytes `src[..scan]` are complete lines already interpreted.
    scan: usize,
    /// The line-end search resumes here (`>= scan`): the partial line before it was searched.
    search: usize,
    event: Option<(usize, usize)>,
    data: Option<(usize, usize)>,
    more_data: Vec<(usize, usize)>,
    id: Option<(usize, usize)>,
    retry: Option<u64>,
}

impl Block {
    /// The range of the last `event` value, `None` when there was none or it was empty (no type).
    fn event_type(&self) -> Option<(usize, usize)> {
        self.event.filter(|&(s, e)| s < e)
    }

    fn reset(&mut self) {
        self.scan = 0;
        self.search = 0;
        self.event = None;
        self.data = None;
        self.more_data.clear();
        self.id = None;
        self.retry = None;
    }
}

/// A [`Decoder`] that cuts a `text/event-stream` byte stream into [`SseEvent`]s.
///
/// It follows the WHATWG rules ("Parsing an event stream", "Interpreting an event stream"):
///
/// * Line ends are LF, CR or CRLF, also mixed. A CR at the end of one read followed by an LF
///   at the start of the next is one line end ("lines must be separated by either a U+000D
///   CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
///   character, or a single U+000D CARRIAGE RETURN (CR) character").
/// * "A single U+FEFF BYTE ORDER MARK character is ignored if it is the first character in the
///   stream"; anywhere else it is data.
/// * "If the line starts with a U+003A COLON character (:) — Ignore the line" (comments).
/// * "If the line contains a U+003A COLON character (:) — Collect the characters on the line
///   before the first U+003A COLON character (:), and let field be that string. Collect the
///   characters on the line after the first U+003A COLON character (:), and let value be that
///   string. If value starts with a U+0020 SPACE character, remove it from value." A line with
///   no colon is a field with an empty value. Unknown fields are ignored.
/// * "If the line is empty (a blank line) — Dispatch the event"; no event is dispatched when
///   the data buffer is empty (a block without `data` fields).
/// * At end of stream, "If the file ends in the middle of an event, before the final empty
///   line, the incomplete event is not dispatched": [`Decoder::decode_eof`] discards it.
///
/// Zero copy: a block is cut off the read buffer with one `split_to().freeze()` when its blank
/// line is found and trimmed to run from the `event` value to the end of the `data` value; the
/// [`SseEvent`] is that slice and two offsets into it, so an event costs one reference-count
/// increment (and one decrement when dropped) and no copy, whatever the length of its type.
/// Only a block with several `data` lines or with its `event` after its `data` is copied (once,
/// into a new block). An `id` is copied inline when short ([`SmallBytes`]). The scan resumes
/// where it stopped, so an event split over many reads is scanned once.
///
/// A block is applied as a whole when it ends: its `id` and `retry` fields take effect at its
/// blank line, so a block cut off by the end of the stream, or discarded as over-long, changes
/// nothing.
///
/// # Errors
/// [`FrameError::EventTooLong`] when a block (its lines and their line ends, without the
/// terminating blank line) is longer than the limit; the decoder discards the block up to and
/// including its blank line and decoding can continue ([`FrameError::can_continue`]). The read
/// buffer therefore never holds more than the limit plus one read of unscanned bytes.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// Still at stream start: a BOM may follow.
    at_start: bool,
    /// The last line seen ended with a CR that was the last byte available: an LF that comes
    /// next belongs to that line end.
    skip_lf: bool,
    /// Discarding an over-long block until its blank line.
    skipping: bool,
    /// While skipping: the next byte starts a line.
    skip_line_start: bool,
    /// The last event ID buffer (with no `retry`), cloned into every event until it changes.
    last_event_id: Option<Box<Rare>>,
    reconnection_time: Option<u64>,
    block: Block,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default limit [`DEFAULT_MAX_EVENT_BYTES`].
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder that rejects blocks longer than `max_event_bytes` bytes (field and comment
    /// lines with their line ends, without the blank line that ends the block) with
    /// [`FrameError::EventTooLong`].
    ///
    /// The limit is at most `u32::MAX` (4 GiB): larger values are lowered to it.
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes: max_event_bytes.min(u32::MAX as usize),
            at_start: true,
            skip_lf: false,
            skipping: false,
            skip_line_start: true,
            last_event_id: None,
            reconnection_time: None,
            block: Block::default(),
        }
    }

    /// The configured block size limit, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// The stream's last event ID (what a reconnecting client sends as `Last-Event-ID`), as of
    /// the last completed block; `None` when no valid `id` field was seen yet.
    pub fn last_event_id(&self) -> Option<&SmallBytes> {
        self.last_event_id
            .as_ref()
            .and_then(|rare| rare.id.as_ref())
    }

    /// The stream's reconnection time in milliseconds, from the last valid `retry` field of a
    /// completed block; `None` when there was none.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// The `id` and `retry` of an event dispatched now with the block's `retry`: the shared
    /// last event ID when there is no `retry` (nothing to do until a stream sets an ID).
    #[inline(always)]
    fn rare(&self, retry: Option<u64>) -> Option<Box<Rare>> {
        match retry {
            None => self.last_event_id.clone(),
            Some(_) => Rare::new(self.last_event_id().cloned(), retry),
        }
    }

    /// Drops an LF that completes a CRLF split across reads, and a leading BOM.
    /// Returns `false` when more bytes are needed to decide.
    fn prelude(&mut self, src: &mut BytesMut) -> bool {
        if self.at_start {
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            let n = src.len().min(BOM.len());
            if src[..n] != BOM[..n] {
                self.at_start = false;
            } else if n < BOM.len() {
                return false;
            } else {
                src.advance(BOM.len());
                self.at_start = false;
            }
        }
        if self.skip_lf {
            let at = if self.skipping { 0 } else { self.block.scan };
            if let Some(&byte) = src.get(at) {
                self.skip_lf = false;
                if byte == b'\n' {
                    if at == 0 {
                        src.advance(1);
                    } else {
                        self.block.scan += 1;
                        self.block.search = self.block.scan;
                    }
                }
            }
        }
        true
    }

    /// Length of the line end starting at `eol` (1 or 2); sets `skip_lf` for a CR that is the
    /// last byte available.
    #[inline]
    fn line_end_len(&mut self, src: &[u8], eol: usize) -> usize {
        if src[eol] == b'\r' {
            match src.get(eol + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                None => {
                    self.skip_lf = true;
                    1
                }
            }
        } else {
            1
        }
    }

    /// Discards the over-long block's bytes up to and including its blank line.
    /// Returns `true` once the blank line was consumed.
    fn skip_block(&mut self, src: &mut BytesMut) -> bool {
        loop {
            if !self.prelude(src) || src.is_empty() {
                return false;
            }
            match memchr::memchr2(b'\n', b'\r', src) {
                None => {
                    self.skip_line_start = false;
                    src.clear();
                    return false;
                }
                Some(eol) => {
                    let blank = eol == 0 && self.skip_line_start;
                    let len = self.line_end_len(src, eol);
                    src.advance(eol + len);
                    self.skip_line_start = true;
                    if blank {
                        self.skipping = false;
                        return true;
                    }
                }
            }
        }
    }

    /// Interprets the complete, non-empty line `src[start..end]`.
    #[inline]
    fn field(&mut self, src: &[u8], start: usize, end: usize) {
        let line = &src[start..end];
        // Fast path for the two fields of nearly every event; same rules as below.
        if line.starts_with(b"data:") {
            let skip = usize::from(line.get(5) == Some(&b' '));
            let value = (start + 5 + skip, end);
            let block = &mut self.block;
            if block.data.is_none() {
                block.data = Some(value);
            } else {
                block.more_data.push(value);
            }
            return;
        }
        if line.starts_with(b"event:") {
            let skip = usize::from(line.get(6) == Some(&b' '));
            self.block.event = Some((start + 6 + skip, end));
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(0) => return,
            Some(colon) => {
                let skip = usize::from(line.get(colon + 1) == Some(&b' '));
                (&line[..colon], (start + colon + 1 + skip, end))
            }
            None => (line, (end, end)),
        };
        let block = &mut self.block;
        match name {
            b"data" => {
                if block.data.is_none() {
                    block.data = Some(value);
                } else {
                    block.more_data.push(value);
                }
            }
            b"event" => block.event = Some(value),
            // "If the field value does not contain U+0000 NULL, then set the last event ID
            // buffer to the field value. Otherwise, ignore the field."
            b"id" if memchr::memchr(0, &src[value.0..value.1]).is_none() => block.id = Some(value),
            b"retry" => {
                if let Some(ms) = parse_retry(&src[value.0..value.1]) {
                    block.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    /// The block ended with a blank line starting at `block.scan` and ending at `end`.
    ///
    /// Inlined into [`Decoder::decode`] so the event is built in place. This is the common
    /// shape (one `data` line, an `event` field before it or none, no `id`): the frame is split
    /// off once and trimmed to run from the type to the end of the data before it is frozen.
    /// Everything else is [`Self::dispatch_other`].
    #[inline(always)]
    fn dispatch(&mut self, src: &mut BytesMut, end: usize) -> Result<Option<SseEvent>, FrameError> {
        let block = &self.block;
        if let (Some((data_start, data_end)), true, false, None) = (
            block.data,
            block.more_data.is_empty(),
            block.scan > self.max_event_bytes,
            block.id,
        ) {
            let event = block.event_type();
            if event.is_none_or(|(_, e)| e <= data_start) {
                let retry = block.retry;
                if retry.is_some() {
                    self.reconnection_time = retry;
                }
                self.block.reset();
                let frame = src.split_to(end).freeze();
                let rare = self.rare(retry);
                return Ok(Some(slice_event(frame, event, data_start, data_end, rare)));
            }
        }
        self.dispatch_other(src, end)
    }

    /// The common block, `event: <type>\n` (optional) then `data: <value>\n\n`, at the start of
    /// `src` with nothing scanned yet, cut off without touching the block state; `None` when the
    /// block has any other shape or is incomplete, for the general scan to handle.
    ///
    /// The same rules as the general scan: a line ends at its first CR or LF (a CR sends the
    /// block to the general scan), one space after the colon is removed, an empty `event` value
    /// means no type, and a block longer than the limit is left to the general scan's error.
    #[inline(always)]
    fn fast_event(&self, src: &mut BytesMut) -> Option<SseEvent> {
        const EVENT: &[u8] = b"event: ";
        const DATA: &[u8] = b"data: ";
        let buf: &[u8] = src;
        let (event_len, data_line) = if buf.starts_with(EVENT) {
            let eol = EVENT.len() + memchr::memchr2(b'\n', b'\r', &buf[EVENT.len()..])?;
            if buf[eol] != b'\n' {
                return None;
            }
            (eol - EVENT.len(), eol + 1)
        } else {
            (0, 0)
        };
        if !buf[data_line..].starts_with(DATA) {
            return None;
        }
        let data_start = data_line + DATA.len();
        let data_end = data_start + memchr::memchr2(b'\n', b'\r', &buf[data_start..])?;
        // The data line ends in LF and the next line is blank (an LF): the block is complete.
        // Its length, without the blank line, is `data_end + 1`.
        if buf[data_end] != b'\n' || buf.get(data_end + 1) != Some(&b'\n') {
            return None;
        }
        if data_end >= self.max_event_bytes {
            return None;
        }
        // The block runs from the type (or the data when the type is empty) to the end of the
        // data, as `slice_event` cuts it; written out because going through the `Option` range
        // `slice_event` takes measured 20% slower on this path (`benches/benches/framing.rs`).
        let start = if event_len > 0 {
            EVENT.len()
        } else {
            data_start
        };
        let mut block = src.split_to(data_end + 2).freeze();
        block.truncate(data_end);
        block.advance(start);
        // Offsets within a block no longer than `max_event_bytes <= u32::MAX`.
        Some(SseEvent::from_block(
            block,
            (data_start - start) as u32,
            event_len as u32,
            self.last_event_id.clone(),
        ))
    }

    /// [`Self::dispatch`] of an over-long block, a block without data, with an `id`, with
    /// several `data` lines or with its `event` field after its `data` field.
    #[inline(never)]
    fn dispatch_other(
        &mut self,
        src: &mut BytesMut,
        end: usize,
    ) -> Result<Option<SseEvent>, FrameError> {
        if self.block.scan > self.max_event_bytes {
            src.advance(end);
            self.block.reset();
            return Err(FrameError::EventTooLong {
                limit: self.max_event_bytes,
            });
        }
        if let Some(ms) = self.block.retry {
            self.reconnection_time = Some(ms);
        }
        let Some((data_start, data_end)) = self.block.data else {
            if let Some((s, e)) = self.block.id {
                self.last_event_id = Rare::new(Some(SmallBytes::copy_from_slice(&src[s..e])), None);
            }
            src.advance(end);
            self.block.reset();
            return Ok(None);
        };
        let frame = src.split_to(end).freeze();
        if let Some((s, e)) = self.block.id {
            self.last_event_id = Rare::new(Some(SmallBytes::from_frame(&frame, s, e)), None);
        }
        let event = self.block.event_type();
        let rare = self.rare(self.block.retry);
        let event = if self.block.more_data.is_empty() && event.is_none_or(|(_, e)| e <= data_start)
        {
            slice_event(frame, event, data_start, data_end, rare)
        } else {
            // Within a block no longer than `max_event_bytes <= u32::MAX`.
            let event_len = event.map_or(0, |(s, e)| e - s) as u32;
            // The type, then the data values joined with LF, in one new block of exact size.
            let parts =
                std::iter::once((data_start, data_end)).chain(self.block.more_data.iter().copied());
            let data_len: usize = parts.clone().map(|(s, e)| e - s + 1).sum::<usize>() - 1;
            let mut joined = BytesMut::with_capacity(event_len as usize + data_len);
            if let Some((s, e)) = event {
                joined.extend_from_slice(&frame[s..e]);
            }
            for (i, (s, e)) in parts.enumerate() {
                if i > 0 {
                    joined.extend_from_slice(b"\n");
                }
                joined.extend_from_slice(&frame[s..e]);
            }
            SseEvent::from_block(joined.freeze(), event_len, event_len, rare)
        };
        self.block.reset();
        Ok(Some(event))
    }
}

/// The event of a frame with one `data` line, `data_start..data_end`, and its type `event`
/// (non-empty) before it or none: the frame trimmed to run from the type (or the data) to the
/// end of the data. Trimmed as `Bytes` (two field updates), not as `BytesMut` (kind checks).
#[inline(always)]
fn slice_event(
    mut frame: Bytes,
    event: Option<(usize, usize)>,
    data_start: usize,
    data_end: usize,
    rare: Option<Box<Rare>>,
) -> SseEvent {
    let (start, event_len) = event.map_or((data_start, 0), |(s, e)| (s, e - s));
    frame.truncate(data_end);
    frame.advance(start);
    // Offsets within a block no longer than `max_event_bytes <= u32::MAX`.
    SseEvent::from_block(frame, (data_start - start) as u32, event_len as u32, rare)
}

/// `retry` value: "If the field value consists of only ASCII digits, then interpret the field
/// value as an integer in base ten". Empty values and values past `u64::MAX` are ignored.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

impl Decoder for SseDecoder {
    type Item = SseEvent;
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<SseEvent>, FrameError> {
        if self.skipping && !self.skip_block(src) {
            return Ok(None);
        }
        loop {
            if (self.at_start || self.skip_lf) && !self.prelude(src) {
                return Ok(None);
            }
            let search = self.block.search;
            if search == 0 {
                if let Some(event) = self.fast_event(src) {
                    return Ok(Some(event));
                }
            }
            let Some(offset) = memchr::memchr2(b'\n', b'\r', &src[search..]) else {
                self.block.search = src.len();
                if src.len() > self.max_event_bytes {
                    // The block is already longer than the limit whatever comes next.
                    self.skip_line_start = self.block.scan == src.len();
                    self.block.reset();
                    self.skipping = true;
                    src.clear();
                    return Err(FrameError::EventTooLong {
                        limit: self.max_event_bytes,
                    });
                }
                return Ok(None);
            };
            let eol = search + offset;
            let next = eol + self.line_end_len(src, eol);
            if eol == self.block.scan {
                if let Some(event) = self.dispatch(src, next)? {
                    return Ok(Some(event));
                }
            } else {
                self.field(src, self.block.scan, eol);
                self.block.scan = next;
                self.block.search = next;
                // The common end of a block, a blank line ending in LF right after this line,
                // is seen here without another search.
                if src.get(next) == Some(&b'\n') {
                    if let Some(event) = self.dispatch(src, next + 1)? {
                        return Ok(Some(event));
                    }
                }
            }
        }
    }

    /// Decodes what is left; then, per the spec, discards an incomplete trailing block ("If
    /// the file ends in the middle of an event, before the final empty line, the incomplete
    /// event is not dispatched") and clears the buffer.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<SseEvent>, FrameError> {
        if let Some(event) = self.decode(src)? {
            return Ok(Some(event));
        }
        src.clear();
        self.block.reset();
        self.skipping = false;
        self.skip_line_start = true;
        Ok(None)
    }
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
