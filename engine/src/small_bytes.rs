//! [`SmallBytes`]: a short byte string stored inline, for the `id` of an
//! [`SseEvent`](crate::SseEvent) (the stream's last event ID).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// How many bytes [`SmallBytes`] stores inline: 38, so a [`SmallBytes`] is 40 bytes, the size of
/// its [`Bytes`] variant plus its tag (event IDs are usually short: a counter, a UUID is 36).
pub const INLINE_CAPACITY: usize = 38;

/// An immutable byte string that is stored inline (no allocation, no reference count) when it
/// is at most [`INLINE_CAPACITY`] bytes long, and as a [`Bytes`] otherwise.
///
/// [`SseDecoder`](crate::SseDecoder) uses it for the `id` field value, which persists into every
/// later event of the stream (the last event ID buffer): stored inline, a short ID does not pin
/// the read buffer it came from, so the buffer can be reclaimed and reused instead of
/// reallocated. A longer value is a zero-copy [`Bytes`] slice of the read buffer.
///
/// It dereferences to `[u8]`, so `event.id().map(|id| &id[..])` is an `Option<&[u8]>`.
/// Equality, ordering and hashing are by content, whatever the storage.
#[derive(Clone)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]`, `len <= INLINE_CAPACITY`; the bytes after `len` are unspecified.
    Inline {
        len: u8,
        bytes: [u8; INLINE_CAPACITY],
    },
    /// Longer than [`INLINE_CAPACITY`].
    Shared(Bytes),
}

impl SmallBytes {
    /// The empty byte string.
    pub const fn new() -> Self {
        Self(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_CAPACITY],
        })
    }

    /// A copy of `value`: inline when it fits, a new [`Bytes`] otherwise.
    pub fn copy_from_slice(value: &[u8]) -> Self {
        Self::inline(value).unwrap_or_else(|| Self(Repr::Shared(Bytes::copy_from_slice(value))))
    }

    /// `frame[start..end]`: copied inline when it fits, otherwise a zero-copy slice of `frame`
    /// (one reference-count increment).
    ///
    /// # Panics
    /// When `start > end` or `end > frame.len()`, as slicing does.
    pub fn from_frame(frame: &Bytes, start: usize, end: usize) -> Self {
        Self::inline_from(frame, start, end)
            .unwrap_or_else(|| Self(Repr::Shared(frame.slice(start..end))))
    }

    /// `buf[start..end]` copied inline, or `None` when it is longer than [`INLINE_CAPACITY`].
    ///
    /// Copying a fixed-size window (when `buf` has one from `start`) is a few vector moves; a
    /// variable-length copy is a `memcpy` call. The bytes past the value are never exposed.
    ///
    /// # Panics
    /// When `start > end` or `end > buf.len()`, as slicing does.
    pub(crate) fn inline_from(buf: &[u8], start: usize, end: usize) -> Option<Self> {
        let value = &buf[start..end];
        let len = u8::try_from(value.len())
            .ok()
            .filter(|&len| usize::from(len) <= INLINE_CAPACITY)?;
        let window = buf
            .get(start..start + INLINE_CAPACITY)
            .and_then(|w| <[u8; INLINE_CAPACITY]>::try_from(w).ok());
        match window {
            Some(bytes) => Some(Self(Repr::Inline { len, bytes })),
            None => Self::inline(value),
        }
    }

    fn inline(value: &[u8]) -> Option<Self> {
        let len = u8::try_from(value.len())
            .ok()
            .filter(|&len| usize::from(len) <= INLINE_CAPACITY)?;
        let mut bytes = [0; INLINE_CAPACITY];
        bytes[..value.len()].copy_from_slice(value);
        Some(Self(Repr::Inline { len, bytes }))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(bytes) => bytes,
        }
    }

    /// Whether the bytes are stored inline (at most [`INLINE_CAPACITY`] of them).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The bytes as a [`Bytes`]: a copy when inline, a reference-count increment otherwise.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Shared(bytes) => bytes.clone(),
        }
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for SmallBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for SmallBytes {
    /// Like [`Bytes`]: `b"..."` with non-printable bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallBytes {}

impl PartialEq<[u8]> for SmallBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for SmallBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<str> for SmallBytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for SmallBytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(value: &[u8]) -> Self {
        Self::copy_from_slice(value)
    }
}

impl From<&str> for SmallBytes {
    fn from(value: &str) -> Self {
        Self::copy_from_slice(value.as_bytes())
    }
}

impl From<String> for SmallBytes {
    fn from(value: String) -> Self {
        Self::from(Bytes::from(value))
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(value: Vec<u8>) -> Self {
        Self::from(Bytes::from(value))
    }
}

impl From<Bytes> for SmallBytes {
    /// Inline (a copy) when it fits, otherwise `value` itself.
    fn from(value: Bytes) -> Self {
        Self::inline(&value).unwrap_or(Self(Repr::Shared(value)))
    }
}

impl From<SmallBytes> for Bytes {
    fn from(value: SmallBytes) -> Self {
        match value.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(value.as_bytes()),
            Repr::Shared(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_and_long_ones_shared() {
        let short = SmallBytes::from("response.function_call_arguments.delta");
        assert!(short.is_inline());
        assert_eq!(&short[..], b"response.function_call_arguments.delta");
        let at_cap = SmallBytes::copy_from_slice(&[b'x'; INLINE_CAPACITY]);
        assert!(at_cap.is_inline());
        assert_eq!(at_cap.len(), INLINE_CAPACITY);
        let long = SmallBytes::copy_from_slice(&[b'y'; INLINE_CAPACITY + 1]);
        assert!(!long.is_inline());
        assert_eq!(&long[..], &[b'y'; INLINE_CAPACITY + 1][..]);
        let huge = SmallBytes::copy_from_slice(&[b'z'; 300]);
        assert_eq!(huge.len(), 300);
    }

    #[test]
    fn stays_as_small_as_five_words() {
        // The decoder returns events by value: keep them cheap to move.
        assert_eq!(std::mem::size_of::<SmallBytes>(), 40);
        assert_eq!(std::mem::size_of::<Option<SmallBytes>>(), 40);
    }

    #[test]
    fn from_frame_copies_short_values_and_slices_long_ones() {
        let mut raw = b"event: e\n".to_vec();
        raw.extend_from_slice(&[b'a'; 100]);
        let frame = Bytes::from(raw);
        let name = SmallBytes::from_frame(&frame, 7, 8);
        assert!(name.is_inline());
        assert_eq!(name, "e");
        // Too close to the end of the frame for a fixed-size window: copied byte by byte.
        let tail = SmallBytes::from_frame(&frame, 105, 109);
        assert!(tail.is_inline());
        assert_eq!(tail, "aaaa");
        let long = SmallBytes::from_frame(&frame, 9, 109);
        assert!(!long.is_inline());
        assert_eq!(long.as_ptr(), frame[9..].as_ptr(), "a slice, not a copy");
    }

    #[test]
    fn equality_and_hash_are_by_content_whatever_the_storage() {
        use std::collections::hash_map::DefaultHasher;
        let value = [b'q'; INLINE_CAPACITY];
        let inline = SmallBytes::copy_from_slice(&value);
        // A shared representation of the same bytes, built directly.
        let shared = SmallBytes(Repr::Shared(Bytes::copy_from_slice(&value)));
        assert_eq!(inline, shared);
        let hash = |v: &SmallBytes| {
            let mut h = DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&inline), hash(&shared));
        assert_ne!(inline, SmallBytes::from("q"));
        let (a, b) = (SmallBytes::from("a"), SmallBytes::from("b"));
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
    }

    #[test]
    fn conversions_round_trip() {
        let long = vec![b'L'; 64];
        assert_eq!(
            Bytes::from(SmallBytes::from(long.clone())),
            Bytes::from(long)
        );
        assert_eq!(
            SmallBytes::from("id-1").to_bytes(),
            Bytes::from_static(b"id-1")
        );
        assert_eq!(SmallBytes::default().len(), 0);
        assert_eq!(format!("{:?}", SmallBytes::from("a\"\n")), "b\"a\\\"\\n\"");
    }
}
