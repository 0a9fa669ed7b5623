//! The backend's reasoning `encrypted_content` ↔ Gemini `thoughtSignature`.
//!
//! google-genai types `thoughtSignature` as bytes: it base64-decodes the string it receives
//! and base64-encodes it again (URL-safe alphabet, padded) when it sends the history back
//! (measured with google-genai 3.4.0). An `encrypted_content` that is not already canonical
//! URL-safe base64 would come back altered and the backend would refuse to verify it. So the
//! signature is the URL-safe, padded base64 of the `encrypted_content` text: canonical, so any
//! client returns it byte for byte, and decoded back on the way in.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::canonical::JsonText;

/// Signature values some Gemini clients put on function calls they built themselves, to skip
/// Google's validation; they are not the backend's encrypted reasoning and are not replayed.
const SENTINELS: [&str; 2] = [
    "skip_thought_signature_validator",
    "context_engineering_is_the_way_to_go",
];

/// The `thoughtSignature` for an upstream `encrypted_content` (module docs).
pub fn encode(encrypted_content: &JsonText) -> JsonText {
    JsonText::new(&URL_SAFE.encode(encrypted_content.decode().as_bytes()))
}

/// The `encrypted_content` a `thoughtSignature` carries; `None` for a sentinel, a value that is
/// not base64 in either alphabet (padded or not), or one that does not decode to text.
pub fn decode(signature: &str) -> Option<String> {
    if signature.is_empty() || SENTINELS.contains(&signature) {
        return None;
    }
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(signature).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_encrypted_content_in_both_alphabets() {
        for content in ["gAAAAsim000001reasoning", "gAAAAB-_x9Zz==", "a+b/c"] {
            let sig = encode(&JsonText::new(content));
            let text = sig.decode().into_owned();
            assert!(!text.contains('+') && !text.contains('/'), "{text}");
            assert_eq!(decode(&text).as_deref(), Some(content));
            let standard = text.replace('-', "+").replace('_', "/");
            assert_eq!(decode(&standard).as_deref(), Some(content));
            assert_eq!(decode(text.trim_end_matches('=')).as_deref(), Some(content));
        }
        assert_eq!(decode("skip_thought_signature_validator"), None);
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(""), None);
    }
}
