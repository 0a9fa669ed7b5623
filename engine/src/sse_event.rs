//! [`SseEvent`]: one dispatched server-sent event, as [`SseDecoder`](crate::SseDecoder) yields it.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use crate::small_bytes::SmallBytes;

/// One dispatched server-sent event: its type ([`SseEvent::event`]), its data
/// ([`SseEvent::data`]) and the rare `id` / `retry` values.
///
/// An event is one [`Bytes`] *block* plus two offsets: the event type is the first
/// `event_len` bytes of the block, the data is everything from `data_start` to the end. For the
/// common block (`event: <type>\ndata: <value>\n\n`, or `data:` alone) the block is a slice of
/// the decoder's read buffer that runs from the type to the end of the data, so neither the type
/// nor the data is copied and the event costs one reference-count increment (and one decrement
/// when dropped), whatever the length of the type. Blocks of another shape (several `data:`
/// lines, or the `event` field after the `data` field) are copied once into a new block laid out
/// the same way.
///
/// The bytes are not UTF-8 checked here (the spec decodes the stream as UTF-8 with replacement;
/// callers that parse the data as JSON validate it there, once).
///
/// The `id` and `retry` values ([`SseEvent::id`], [`SseEvent::retry`]) are rare in the streams
/// this crate reads (the Codex Responses stream sends neither), so they live behind one pointer,
/// `None` when both are absent. An event is 48 bytes: it is returned through
/// `Decoder::decode`, `Poll` and `Result` by value, and every byte is moved several times
/// (`benches/benches/framing.rs` measures it).
///
/// Equality is by value: type, data, `id` and `retry`.
#[derive(Clone, Default)]
pub struct SseEvent {
    /// `[type][...][data]`.
    block: Bytes,
    /// `block[data_start..]` is the data; `data_start <= block.len()`.
    data_start: u32,
    /// `block[..event_len]` is the event type; `0` when there is none.
    event_len: u32,
    /// `id` and `retry`; `None` when both are `None`.
    rare: Option<Box<Rare>>,
}

/// The rare fields of an [`SseEvent`]; never both `None` inside the `Box`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rare {
    pub(crate) id: Option<SmallBytes>,
    pub(crate) retry: Option<u64>,
}

impl Rare {
    pub(crate) fn new(id: Option<SmallBytes>, retry: Option<u64>) -> Option<Box<Self>> {
        (id.is_some() || retry.is_some()).then(|| Box::new(Self { id, retry }))
    }
}

impl SseEvent {
    /// An event of type `event` (`None` or empty: the default type, `message`) carrying `data`,
    /// without `id` or `retry`.
    ///
    /// Without a type, `data` becomes the block as it is (no copy); with one, the type and the
    /// data are copied into one new block.
    ///
    /// # Panics
    /// When `event` is longer than `u32::MAX` bytes.
    pub fn new(event: Option<&[u8]>, data: Bytes) -> Self {
        match event {
            Some(event) if !event.is_empty() => {
                let event_len = u32::try_from(event.len()).expect("event type shorter than 4 GiB");
                let mut block = BytesMut::with_capacity(event.len() + data.len());
                block.extend_from_slice(event);
                block.extend_from_slice(&data);
                Self::from_block(block.freeze(), event_len, event_len, None)
            }
            _ => Self::from_block(data, 0, 0, None),
        }
    }

    /// An event whose type is `block[..event_len]` and data `block[data_start..]`.
    ///
    /// The decoder keeps `event_len <= data_start <= block.len() <= u32::MAX`
    /// ([`SseDecoder::with_max_event_bytes`](crate::SseDecoder::with_max_event_bytes) caps the
    /// block size); the accessors clamp anyway, so a broken invariant cannot panic.
    #[inline(always)]
    pub(crate) fn from_block(
        block: Bytes,
        data_start: u32,
        event_len: u32,
        rare: Option<Box<Rare>>,
    ) -> Self {
        Self {
            block,
            data_start,
            event_len,
            rare,
        }
    }

    /// This event with its [`SseEvent::id`] set to `id`.
    #[must_use]
    pub fn with_id(mut self, id: Option<SmallBytes>) -> Self {
        self.rare = Rare::new(id, self.retry());
        self
    }

    /// This event with its [`SseEvent::retry`] set to `retry` (milliseconds).
    #[must_use]
    pub fn with_retry(mut self, retry: Option<u64>) -> Self {
        let id = self.rare.take().and_then(|rare| rare.id);
        self.rare = Rare::new(id, retry);
        self
    }

    fn data_start(&self) -> usize {
        (self.data_start as usize).min(self.block.len())
    }

    /// The event type: the value of the last `event` field of the block, `None` when there was
    /// none or it was empty ("If the event type buffer has a value other than the empty string,
    /// change the type of the newly created event to equal the value of the event type buffer";
    /// otherwise the type is `message`, see [`SseEvent::event_type`]).
    pub fn event(&self) -> Option<&[u8]> {
        let len = (self.event_len as usize).min(self.block.len());
        (len > 0).then(|| &self.block[..len])
    }

    /// The event type as a browser's `MessageEvent.type` reports it: [`SseEvent::event`], or
    /// `message` when the block had no (non-empty) `event` field.
    pub fn event_type(&self) -> &[u8] {
        self.event().unwrap_or(b"message")
    }

    /// The data: the values of the block's `data` fields joined with `\n` ("append the field
    /// value to the data buffer, then append a single U+000A LINE FEED (LF) character"; "If the
    /// data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last
    /// character from the data buffer").
    pub fn data(&self) -> &[u8] {
        &self.block[self.data_start()..]
    }

    /// The data as a [`Bytes`] that shares this event's block (one reference-count increment,
    /// no copy).
    pub fn data_bytes(&self) -> Bytes {
        self.block.slice(self.data_start()..)
    }

    /// The data as a [`Bytes`], consuming the event (no copy and no reference-count operation).
    pub fn into_data(self) -> Bytes {
        let start = self.data_start();
        let mut block = self.block;
        block.advance(start);
        block
    }

    /// The last event ID buffer at dispatch time. It persists across events ("set the last
    /// event ID buffer to the field value"), so it is `Some` on every event after the first
    /// valid `id` field of the stream; `Some` empty bytes after an empty `id` field (a reset).
    /// An `id` field whose value contains U+0000 NULL is ignored.
    pub fn id(&self) -> Option<&SmallBytes> {
        self.rare.as_ref().and_then(|rare| rare.id.as_ref())
    }

    /// The `retry` field of this event's block, in milliseconds, when it "consists of only
    /// ASCII digits" (and fits in a `u64`); other values are ignored. The stream-wide value is
    /// [`SseDecoder::reconnection_time`](crate::SseDecoder::reconnection_time).
    pub fn retry(&self) -> Option<u64> {
        self.rare.as_ref().and_then(|rare| rare.retry)
    }
}

impl PartialEq for SseEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event() == other.event() && self.data() == other.data() && self.rare == other.rare
    }
}

impl Eq for SseEvent {}

impl fmt::Debug for SseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseEvent")
            .field("event", &self.event().map(|e| e.escape_ascii().to_string()))
            .field("data", &self.data().escape_ascii().to_string())
            .field("id", &self.id())
            .field("retry", &self.retry())
            .finish()
    }
}
