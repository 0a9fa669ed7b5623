//! The proxy's own API key: which clients may use it (not the upstream login, see
//! [`crate::auth`]).
//!
//! A key is accepted from any of the headers the supported SDKs send it in:
//! `Authorization: Bearer <key>` (OpenAI, Ollama), `x-api-key: <key>` (Anthropic),
//! `x-goog-api-key: <key>` (Gemini). Keys are compared in constant time ([`subtle`]); only the
//! length can leak, as with any comparison. A request without a matching key gets the OpenAI
//! 401 body with code `invalid_api_key` ([`ApiError::invalid_api_key`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Whether clients must present a key.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKeyPolicy {
    /// Every request (except `GET /healthz`) must carry this key.
    Required(Arc<str>),
    /// No key is checked (only allowed on a loopback address, see
    /// [`super::api_key_policy`]).
    Open,
    /// One of several named keys (`--api-keys-file`, [`super::api_keys`]).
    Named(Arc<super::api_keys::ApiKeys>),
}

impl std::fmt::Debug for ApiKeyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKeyPolicy::Required(_) => f.write_str("Required(<redacted>)"),
            ApiKeyPolicy::Open => f.write_str("Open"),
            ApiKeyPolicy::Named(keys) => write!(f, "Named({} keys)", keys.len()),
        }
    }
}

impl ApiKeyPolicy {
    /// `true` when `headers` satisfy the policy.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        match self {
            ApiKeyPolicy::Required(key) => {
                presented_keys(headers).any(|presented| bool::from(presented.ct_eq(key.as_bytes())))
            }
            ApiKeyPolicy::Open => true,
            ApiKeyPolicy::Named(keys) => keys.identify(headers).is_some(),
        }
    }
}

/// Every key the request presents, in the headers listed in the module docs.
pub(crate) fn presented_keys(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| strip_bearer(v.as_bytes()));
    let plain = ["x-api-key", "x-goog-api-key"]
        .into_iter()
        .flat_map(move |name| headers.get_all(name).iter().map(|v| v.as_bytes()));
    bearer.chain(plain)
}

/// `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1) → `<token>`.
fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// axum middleware (`from_fn_with_state`): answer 401 unless the policy allows the request.
pub async fn require_api_key(
    State(policy): State<ApiKeyPolicy>,
    request: Request,
    next: Next,
) -> Response {
    if let ApiKeyPolicy::Named(keys) = &policy {
        return match keys.identify(request.headers()) {
            Some(name) => {
                if let Some(slot) = request.extensions().get::<super::metrics::RequestSlot>() {
                    slot.set_key(name);
                }
                next.run(request).await
            }
            None => ApiError::invalid_api_key().into_response(),
        };
    }
    if policy.allows(request.headers()) {
        next.run(request).await
    } else {
        ApiError::invalid_api_key().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn required_key_accepts_only_the_exact_key_in_any_supported_header() {
        let policy = ApiKeyPolicy::Required("sk-local-123".into());
        assert!(policy.allows(&headers(&[("authorization", "Bearer sk-local-123")])));
        assert!(policy.allows(&headers(&[("authorization", "bearer sk-local-123")])));
        assert!(policy.allows(&headers(&[("x-api-key", "sk-local-123")])));
        assert!(policy.allows(&headers(&[("x-goog-api-key", "sk-local-123")])));
        assert!(!policy.allows(&headers(&[])));
        assert!(!policy.allows(&headers(&[("authorization", "Bearer sk-local-12")])));
        assert!(!policy.allows(&headers(&[("authorization", "Bearer sk-local-1234")])));
        assert!(!policy.allows(&headers(&[("authorization", "Basic sk-local-123")])));
        assert!(!policy.allows(&headers(&[("authorization", "sk-local-123")])));
    }

    #[test]
    fn open_policy_accepts_anything() {
        assert!(ApiKeyPolicy::Open.allows(&headers(&[])));
        assert_eq!(
            format!("{:?}", ApiKeyPolicy::Required("secret".into())),
            "Required(<redacted>)"
        );
    }
}
