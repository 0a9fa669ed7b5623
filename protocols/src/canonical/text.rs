//! [`JsonText`]: text kept in its JSON wire form, so that it crosses the proxy without being
//! unescaped and escaped again.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// A piece of text held as one JSON string literal, quotes included (RFC 8259 §7), exactly as
/// the upstream wrote it, e.g. `"Hel\"lo"`.
///
/// Every protocol codex-pipe speaks carries text inside JSON, so a text delta taken from the
/// upstream event never needs to be decoded: the ingress copies the literal once out of the
/// event payload (one allocation, a `memcpy`, no escape processing) and every egress writes it
/// back verbatim through [`Serialize`] (it serializes as the raw literal, via
/// [`serde_json::value::RawValue`]). Only the non-streaming aggregation concatenates pieces,
/// which it does on the escaped form ([`JsonTextBuf`]): the escaped form of a concatenation is
/// the concatenation of the escaped forms.
///
/// Invariant: the content is a single valid JSON string literal. Compact JSON never holds a raw
/// CR or LF inside a string, so a `JsonText` always fits on one SSE `data:` line.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// Escapes `text` into a JSON string literal.
    pub fn new(text: &str) -> Self {
        Self(serde_json::value::to_raw_value(text).expect("a &str always serializes to JSON"))
    }

    /// The empty string literal `""`.
    pub fn empty() -> Self {
        Self::new("")
    }

    /// Copies `raw` when it is a JSON string literal; `None` for any other JSON value
    /// (number, object, `null`…).
    pub fn from_raw(raw: &RawValue) -> Option<Self> {
        raw.get().starts_with('"').then(|| Self(raw.to_owned()))
    }

    /// The literal with its quotes, e.g. `"a\nb"` for the two-line text `a`, `b`.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// The escaped content between the quotes, e.g. `a\nb`.
    pub fn escaped(&self) -> &str {
        let json = self.0.get();
        &json[1..json.len() - 1]
    }

    /// True for `""`.
    pub fn is_empty(&self) -> bool {
        self.0.get().len() == 2
    }

    /// The decoded text. Borrows when the literal has no escape sequence.
    ///
    /// A literal that cannot be decoded to UTF-8 text (a lone surrogate escape such as
    /// `"\ud800"`, which JSON allows) is returned in its escaped form rather than dropped.
    pub fn decode(&self) -> Cow<'_, str> {
        let escaped = self.escaped();
        if !escaped.contains('\\') {
            return Cow::Borrowed(escaped);
        }
        match serde_json::from_str::<String>(self.0.get()) {
            Ok(text) => Cow::Owned(text),
            Err(_) => Cow::Borrowed(escaped),
        }
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for JsonText {}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl From<&str> for JsonText {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// An append-only buffer of escaped JSON string content, finished into one [`JsonText`].
///
/// Used where pieces are joined: the non-streaming aggregation, summaries of a reasoning item,
/// the parts of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonTextBuf {
    escaped: String,
}

impl JsonTextBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a literal's content.
    pub fn push(&mut self, text: &JsonText) {
        self.escaped.push_str(text.escaped());
    }

    /// Appends plain text, escaping it.
    pub fn push_str(&mut self, text: &str) {
        let lit = JsonText::new(text);
        self.escaped.push_str(lit.escaped());
    }

    /// True when nothing (or only empty pieces) was appended.
    pub fn is_empty(&self) -> bool {
        self.escaped.is_empty()
    }

    /// Wraps the content in quotes.
    pub fn finish(self) -> JsonText {
        let mut json = String::with_capacity(self.escaped.len() + 2);
        json.push('"');
        json.push_str(&self.escaped);
        json.push('"');
        // Concatenated escaped contents of valid literals form a valid literal: escape
        // sequences never span two pieces.
        JsonText(RawValue::from_string(json).expect("concatenated string literals form a literal"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_escapes_and_decodes() {
        let t = JsonText::new("a\"b\nc é");
        assert_eq!(t.as_json(), r#""a\"b\nc é""#);
        assert_eq!(t.escaped(), r#"a\"b\nc é"#);
        assert_eq!(t.decode(), "a\"b\nc é");
        assert!(!t.is_empty());
        assert!(JsonText::empty().is_empty());
    }

    #[test]
    fn from_raw_accepts_only_strings() {
        let raw: &RawValue = serde_json::from_str(r#""x\u0041""#).expect("valid");
        let t = JsonText::from_raw(raw).expect("string literal");
        assert_eq!(t.as_json(), r#""x\u0041""#);
        assert_eq!(t.decode(), "xA");
        let num: &RawValue = serde_json::from_str("12").expect("valid");
        assert!(JsonText::from_raw(num).is_none());
    }

    #[test]
    fn lone_surrogate_is_kept_escaped() {
        let raw: &RawValue = serde_json::from_str(r#""\ud800""#).expect("valid raw JSON");
        let t = JsonText::from_raw(raw).expect("string literal");
        assert_eq!(t.decode(), r"\ud800");
    }

    #[test]
    fn buffer_concatenates_escaped_pieces() {
        let mut buf = JsonTextBuf::new();
        buf.push(&JsonText::new("a\n"));
        buf.push_str("\"b\"");
        let t = buf.finish();
        assert_eq!(t.decode(), "a\n\"b\"");
        assert_eq!(serde_json::to_string(&t).expect("serializes"), t.as_json());
    }
}
