//! JWT claims of the ChatGPT `id_token` / `access_token` (protocols.md §2.2).
//!
//! The tokens are read, never verified: the backend verifies them, this process only needs the
//! account id, plan, FedRAMP flag and expiry for headers and proactive refresh. The payload is the
//! second `.`-separated segment, base64url without padding (RFC 7515 §2), holding e.g.
//!
//! ```json
//! {"exp":1760000000,"email":"u@x.com",
//!  "https://api.openai.com/auth":{"chatgpt_account_id":"…","chatgpt_plan_type":"plus",
//!                                 "chatgpt_account_is_fedramp":false}}
//! ```
//!
//! [`encode_unsigned`] builds the same shape for the simulated backend (`sim::oauth`), so both
//! sides share one base64url engine.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::Deserialize;

/// Name of the namespaced claim object that carries the ChatGPT account fields.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// Name of the namespaced claim object that carries the profile (`email`).
pub const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// Longest token accepted for decoding, in bytes. Real tokens are 1–3 KiB; anything far larger is
/// not a token this program should spend time decoding.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// base64url (RFC 4648 §5): writes without padding, reads with or without it.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a token's claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is not three `.`-separated segments (it may be an opaque token).
    #[error("not a JWT: expected three '.'-separated segments, found {segments}")]
    NotJwt {
        /// Number of segments found.
        segments: usize,
    },
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("token is {len} bytes, longer than the {max}-byte limit")]
    TooLong {
        /// Length of the token in bytes.
        len: usize,
        /// The limit, [`MAX_TOKEN_LEN`].
        max: usize,
    },
    /// The payload segment is not base64url.
    #[error("JWT payload is not base64url: {0}")]
    Base64(String),
    /// The payload is not a JSON object of the expected shape.
    #[error("JWT payload is not a JSON claims object: {0}")]
    Json(String),
}

/// The claims this program uses, read from a JWT payload. Absent claims are `None` / `false`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtClaims {
    /// `exp`: expiry as seconds since the Unix epoch (RFC 7519 §4.1.4).
    pub exp: Option<i64>,
    /// `email` at the top level, else `https://api.openai.com/profile`.`email`.
    pub email: Option<String>,
    /// `https://api.openai.com/auth`.`chatgpt_account_id`: the value for `ChatGPT-Account-Id`.
    pub account_id: Option<String>,
    /// `https://api.openai.com/auth`.`chatgpt_plan_type`, raw (`free`, `plus`, `pro`, `team`, …).
    pub plan_type: Option<String>,
    /// `https://api.openai.com/auth`.`chatgpt_account_is_fedramp`; `true` adds `X-OpenAI-Fedramp`.
    pub is_fedramp: bool,
}

#[derive(Deserialize)]
struct RawClaims {
    exp: Option<serde_json::Number>,
    email: Option<String>,
    #[serde(rename = "https://api.openai.com/profile")]
    profile: Option<RawProfile>,
    #[serde(rename = "https://api.openai.com/auth")]
    auth: Option<RawAuth>,
}

#[derive(Deserialize)]
struct RawProfile {
    email: Option<String>,
}

#[derive(Deserialize)]
struct RawAuth {
    chatgpt_account_id: Option<String>,
    chatgpt_plan_type: Option<String>,
    #[serde(default)]
    chatgpt_account_is_fedramp: Option<bool>,
}

/// Decodes the payload of `token` (`header.payload.signature`) into [`JwtClaims`] without
/// verifying the signature.
///
/// # Errors
/// [`JwtError::NotJwt`] for opaque tokens, [`JwtError::TooLong`] past [`MAX_TOKEN_LEN`],
/// [`JwtError::Base64`] / [`JwtError::Json`] for a malformed payload.
pub fn decode_claims(token: &str) -> Result<JwtClaims, JwtError> {
    let raw: RawClaims = serde_json::from_slice(&decode_payload(token)?)
        .map_err(|e| JwtError::Json(e.to_string()))?;
    let auth = raw.auth;
    Ok(JwtClaims {
        // `exp` is a NumericDate and may carry a fraction; whole seconds are enough here.
        exp: raw
            .exp
            .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        email: raw
            .email
            .or_else(|| raw.profile.and_then(|p| p.email))
            .filter(|e| !e.is_empty()),
        account_id: auth
            .as_ref()
            .and_then(|a| a.chatgpt_account_id.clone())
            .filter(|id| !id.is_empty()),
        plan_type: auth.as_ref().and_then(|a| a.chatgpt_plan_type.clone()),
        is_fedramp: auth
            .as_ref()
            .and_then(|a| a.chatgpt_account_is_fedramp)
            .unwrap_or(false),
    })
}

/// Decodes the raw payload bytes (the JSON text) of `token`.
///
/// # Errors
/// As [`decode_claims`], minus the JSON check.
pub fn decode_payload(token: &str) -> Result<Vec<u8>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NotJwt {
            segments: token.split('.').count(),
        });
    };
    B64URL
        .decode(payload)
        .map_err(|e| JwtError::Base64(e.to_string()))
}

/// Builds an unsigned JWT-shaped string `header.payload.signature` from a claims object:
/// header `{"alg":"none","typ":"JWT"}`, payload = `claims` serialized, signature = `signature`
/// bytes; every segment base64url without padding. Used by the simulated backend only: the real
/// backend's tokens are signed by OpenAI.
pub fn encode_unsigned(claims: &serde_json::Value, signature: &[u8]) -> String {
    const HEADER: &[u8] = br#"{"alg":"none","typ":"JWT"}"#;
    let payload = claims.to_string();
    let mut out = String::with_capacity(64 + payload.len() * 4 / 3 + signature.len() * 4 / 3);
    B64URL.encode_string(HEADER, &mut out);
    out.push('.');
    B64URL.encode_string(payload.as_bytes(), &mut out);
    out.push('.');
    B64URL.encode_string(signature, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_the_claims_this_program_reads() {
        let token = encode_unsigned(
            &json!({
                "exp": 1_760_000_000,
                "https://api.openai.com/profile": {"email": "u@x.com"},
                AUTH_CLAIM: {
                    "chatgpt_account_id": "acct-1",
                    "chatgpt_plan_type": "plus",
                    "chatgpt_account_is_fedramp": true
                }
            }),
            b"sig",
        );
        assert_eq!(token.split('.').count(), 3);
        assert!(!token.contains('='), "base64url without padding: {token}");
        let claims = decode_claims(&token).expect("claims");
        assert_eq!(claims.exp, Some(1_760_000_000));
        assert_eq!(claims.email.as_deref(), Some("u@x.com"));
        assert_eq!(claims.account_id.as_deref(), Some("acct-1"));
        assert_eq!(claims.plan_type.as_deref(), Some("plus"));
        assert!(claims.is_fedramp);
    }

    #[test]
    fn reads_a_padded_payload_and_fractional_exp() {
        // A 14-byte payload leaves a 2-byte tail, which padded base64 ends with one '='.
        let padded = format!(
            "e30.{}.c2ln",
            base64::engine::general_purpose::URL_SAFE.encode(br#"{"exp":12.75} "#)
        );
        assert!(padded.contains('='), "fixture must carry padding: {padded}");
        let claims = decode_claims(&padded).expect("claims");
        assert_eq!(claims.exp, Some(12));
        assert_eq!(claims.account_id, None);
        assert!(!claims.is_fedramp);
    }

    #[test]
    fn rejects_opaque_and_malformed_tokens_with_typed_errors() {
        assert_eq!(
            decode_claims("sk-opaque"),
            Err(JwtError::NotJwt { segments: 1 })
        );
        assert_eq!(
            decode_claims("a.b.c.d"),
            Err(JwtError::NotJwt { segments: 4 })
        );
        assert!(matches!(decode_claims("a.!!!.c"), Err(JwtError::Base64(_))));
        let not_json = format!("e30.{}.c2ln", B64URL.encode(b"[1,2"));
        assert!(matches!(decode_claims(&not_json), Err(JwtError::Json(_))));
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(
            decode_claims(&huge),
            Err(JwtError::TooLong { .. })
        ));
    }

    #[test]
    fn empty_account_id_claim_counts_as_absent() {
        let token = encode_unsigned(&json!({AUTH_CLAIM: {"chatgpt_account_id": ""}}), b"");
        assert_eq!(decode_claims(&token).expect("claims").account_id, None);
    }
}
