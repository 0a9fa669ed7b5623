//! Thinking-block signatures: how the backend's reasoning `encrypted_content` travels through
//! an Anthropic client and back (gateways.md §2).
//!
//! A Claude client keeps each `thinking` block's `signature` byte-exact and sends it back on
//! the next turn. This proxy puts the reasoning item's `encrypted_content` in it, so the next
//! request can replay the reasoning statelessly. Signatures the proxy did not issue (Anthropic's
//! own after a model switch, another gateway's, a forged or edited one) must never reach the
//! backend: it would answer 400 `invalid_encrypted_content` and the conversation could not go
//! on. So each signature carries a MAC the proxy checks:
//!
//! ```text
//! signature = "cxp1." MAC "." encrypted_content
//! MAC       = base64url-nopad( HMAC-SHA256(key, "cxp1." encrypted_content) )   (43 characters)
//! ```
//!
//! A thinking block whose signature does not verify is dropped (with its text: the model's
//! summary is not the reasoning itself); a `redacted_thinking` block's `data` is checked the
//! same way. The key is chosen by the server ([`SignatureKey::random`] per process, or
//! [`SignatureKey::new`] from configured bytes): after a restart with a new key, old thinking
//! blocks are dropped, the conversation itself goes on.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;

/// The prefix of every signature this proxy issues (scheme version 1).
pub const SIGNATURE_PREFIX: &str = "cxp1.";

/// Length of the base64url MAC of an HMAC-SHA256 tag.
const MAC_LEN: usize = 43;

/// The key that signs and verifies thinking signatures (module docs).
#[derive(Clone)]
pub struct SignatureKey(hmac::Key);

impl std::fmt::Debug for SignatureKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureKey(<redacted>)")
    }
}

impl SignatureKey {
    /// A key from secret bytes (any length; 32 random bytes is plenty).
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// A key from 32 bytes of the operating system's random generator; `None` when it fails.
    pub fn random() -> Option<Self> {
        use ring::rand::{SecureRandom, SystemRandom};
        let mut secret = [0_u8; 32];
        SystemRandom::new().fill(&mut secret).ok()?;
        Some(Self::new(&secret))
    }

    fn tag(&self, encrypted_content: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(SIGNATURE_PREFIX.as_bytes());
        ctx.update(encrypted_content.as_bytes());
        ctx.sign()
    }

    /// The signature of a reasoning item's `encrypted_content`.
    pub fn sign(&self, encrypted_content: &str) -> String {
        let mac = URL_SAFE_NO_PAD.encode(self.tag(encrypted_content).as_ref());
        let mut out =
            String::with_capacity(SIGNATURE_PREFIX.len() + mac.len() + 1 + encrypted_content.len());
        out.push_str(SIGNATURE_PREFIX);
        out.push_str(&mac);
        out.push('.');
        out.push_str(encrypted_content);
        out
    }

    /// The `encrypted_content` inside `signature` when this key issued it; `None` for any
    /// other signature (another prefix, a bad MAC, an edited payload).
    pub fn verify<'s>(&self, signature: &'s str) -> Option<&'s str> {
        let rest = signature.strip_prefix(SIGNATURE_PREFIX)?;
        let (mac, encrypted_content) = rest.split_at_checked(MAC_LEN)?;
        let encrypted_content = encrypted_content.strip_prefix('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut ctx = Vec::with_capacity(SIGNATURE_PREFIX.len() + encrypted_content.len());
        ctx.extend_from_slice(SIGNATURE_PREFIX.as_bytes());
        ctx.extend_from_slice(encrypted_content.as_bytes());
        hmac::verify(&self.0, &ctx, &mac).ok()?;
        (!encrypted_content.is_empty()).then_some(encrypted_content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let key = SignatureKey::new(b"test key");
        let sig = key.sign("gAAAAabc==");
        assert!(sig.starts_with("cxp1."));
        assert_eq!(key.verify(&sig), Some("gAAAAabc=="));
        // Another key, an edited payload, an edited MAC, a foreign signature, empty content.
        assert_eq!(SignatureKey::new(b"other").verify(&sig), None);
        assert_eq!(key.verify(&sig.replace("abc", "abd")), None);
        let mut bad_mac = sig.clone().into_bytes();
        bad_mac[6] = if bad_mac[6] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.verify(&String::from_utf8(bad_mac).expect("ascii")),
            None
        );
        assert_eq!(
            key.verify("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"),
            None
        );
        assert_eq!(key.verify(&key.sign("")), None);
        assert_eq!(key.verify("cxp1."), None);
    }
}
