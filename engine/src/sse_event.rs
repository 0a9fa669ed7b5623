//! [`SseEvent`]: one dispatched server-sent event, as [`SseDecoder`](crate::SseDecoder) yields it.

use std::fmt;

use bytes::Bytes;

use crate::small_bytes::SmallBytes;

/// One dispatched server-sent event.
///
/// `data` is a [`Bytes`] slice of the decoder's read buffer (no copy), except for an event with
/// several `data:` lines, whose values are joined into one new buffer. `event` and the `id` are
/// [`SmallBytes`]: copied inline when short (no reference count to pay per event), a slice of
/// the read buffer when longer than [`INLINE_CAPACITY`](crate::INLINE_CAPACITY). The bytes are not
/// UTF-8 checked here (the spec decodes the stream as UTF-8 with replacement; callers that parse
/// the data as JSON validate it there, once).
///
/// The `id` and `retry` values ([`SseEvent::id`], [`SseEvent::retry`]) are rare in the streams
/// this crate reads (the Codex Responses stream sends neither), so they live behind one
/// pointer, `None` when both are absent: an event is 80 bytes instead of 128, cheaper to move
/// (an event of a stream that does set an ID costs one small allocation for it). Build one with
/// [`SseEvent::new`], then [`SseEvent::with_id`] and [`SseEvent::with_retry`].
///
/// The field order is fixed (`repr(C)`): it is the order that measured fastest to return
/// through `Decoder::decode` and `Frames::poll_next` (`benches/benches/framing.rs`).
#[derive(Clone, PartialEq, Eq, Default)]
#[repr(C)]
pub struct SseEvent {
    /// `id` and `retry`; `None` when both are `None` (so equality is by value).
    pub(crate) rare: Option<Box<Rare>>,
    /// The data: the values of the block's `data` fields joined with `\n` ("append the field
    /// value to the data buffer, then append a single U+000A LINE FEED (LF) character"; "If the
    /// data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last
    /// character from the data buffer").
    pub data: Bytes,
    /// The event type: the value of the last `event` field of the block, `None` when there was
    /// none or it was empty ("If the event type buffer has a value other than the empty string,
    /// change the type of the newly created event to equal the value of the event type buffer";
    /// otherwise the type is `message`).
    pub event: Option<SmallBytes>,
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
    /// An event of type `event` (`None`: the default type, `message`) carrying `data`, without
    /// `id` or `retry`.
    pub fn new(event: Option<SmallBytes>, data: Bytes) -> Self {
        Self {
            event,
            data,
            rare: None,
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

impl fmt::Debug for SseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseEvent")
            .field("event", &self.event)
            .field("data", &self.data)
            .field("id", &self.id())
            .field("retry", &self.retry())
            .finish()
    }
}
