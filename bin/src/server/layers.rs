//! The server's layers, applied once for every surface.
//!
//! - **API key** ([`require_api_key`]): which clients may use the proxy (not the upstream login,
//!   see [`crate::auth`]). A key is accepted from any of the places the supported SDKs send it:
//!   `Authorization: Bearer <key>` (OpenAI, Ollama), `x-api-key: <key>` (Anthropic),
//!   `x-goog-api-key: <key>` or `?key=<key>` (Gemini). Keys are compared in constant time
//!   ([`subtle`]); only the length can leak, as with any comparison. A request without a
//!   matching key gets a 401 in its own protocol's error shape.
//! - **Concurrency** ([`limit_upstream`]): one permit of `--concurrency` per upstream call,
//!   held until the answer's body is finished or dropped; further requests wait.
//! - **Host** ([`check_host`]): on loopback only loopback names (DNS rebinding).
//! - **JSON only** ([`require_json`]): the JSON routes answer 415 to any other `Content-Type`,
//!   so a web page cannot post to them as a CORS "simple request" (`text/plain`, forms).
//! - **Errors in the caller's protocol** ([`protocol_errors`]): 4xx / 5xx answers produced by
//!   the framework rather than a handler (a body over the limit, a body that stopped arriving)
//!   are re-rendered in the caller's protocol.
//! - **Unknown routes and methods** ([`unknown_route`], [`method_not_allowed`]): 404 / 405 in
//!   the caller's protocol.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use codex_pipe_protocols::{ApiError, FailureKind};
use http_body::{Frame, SizeHint};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::Rejection;
use super::routes::protocol_of;

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
        self.allows_request(headers, None)
    }

    /// `true` when `headers` or the query's `key` parameter (Gemini's form) satisfy the policy.
    pub fn allows_request(&self, headers: &HeaderMap, uri: Option<&Uri>) -> bool {
        let key = match self {
            ApiKeyPolicy::Required(key) => key,
            ApiKeyPolicy::Open => return true,
            ApiKeyPolicy::Named(keys) => return keys.identify_request(headers, uri).is_some(),
        };
        let matches = |presented: &[u8]| bool::from(presented.ct_eq(key.as_bytes()));
        presented_keys(headers).any(matches)
            || uri
                .and_then(query_key)
                .is_some_and(|k| matches(k.as_bytes()))
    }
}

/// Every key the request presents in its headers (module docs).
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

/// The `key` query parameter (`?key=…`, how Gemini clients may send their key).
pub(crate) fn query_key(uri: &Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "key")
        .map(|(_, value)| percent_decode(value))
}

/// `%XX` and `+` decoding of one query value.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// axum middleware (`from_fn_with_state`): answer 401 in the caller's protocol unless the policy
/// allows the request. Runs before the body is read.
pub async fn require_api_key(
    State(policy): State<ApiKeyPolicy>,
    request: Request,
    next: Next,
) -> Response {
    if let ApiKeyPolicy::Named(keys) = &policy {
        if let Some(name) = keys.identify_request(request.headers(), Some(request.uri())) {
            if let Some(slot) = request.extensions().get::<super::metrics::RequestSlot>() {
                slot.set_key(name);
            }
            return next.run(request).await;
        }
    } else if policy.allows_request(request.headers(), Some(request.uri())) {
        return next.run(request).await;
    }
    let error = ApiError::new(
        FailureKind::Unauthenticated,
        "missing or incorrect API key: send the key this proxy was started with (--api-key) as `Authorization: Bearer <key>`, `x-api-key: <key>` or `x-goog-api-key: <key>`",
    );
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
}

/// axum middleware (`from_fn_with_state`): waits for one upstream permit and holds it until the
/// response body ends (or is dropped), so `--concurrency` bounds the upstream calls in flight,
/// streams included.
pub async fn limit_upstream(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = permits.acquire_owned().await else {
        let error = ApiError::new(FailureKind::Overloaded, "the server is shutting down");
        return Rejection::new(protocol_of(request.uri().path()), error).into_response();
    };
    next.run(request)
        .await
        .map(|body| Body::new(PermitBody { body, permit }))
}

pin_project_lite::pin_project! {
    /// A body that holds an upstream permit until it ends or is dropped.
    struct PermitBody {
        #[pin]
        body: Body,
        permit: OwnedSemaphorePermit,
    }
}

impl http_body::Body for PermitBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// axum middleware (`from_fn_with_state`): 403 in the caller's protocol unless the `Host` header
/// names one of `allowed` (a missing `Host` passes: HTTP/1.0 clients and tests send none).
pub async fn check_host(
    State(allowed): State<Option<Arc<[String]>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(allowed) = allowed else {
        return next.run(request).await;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host());
    let Some(host) = host else {
        return next.run(request).await;
    };
    let name = host_name(host).to_ascii_lowercase();
    if allowed.contains(&name) {
        return next.run(request).await;
    }
    let error = ApiError::new(
        FailureKind::Forbidden,
        format!("the Host {host:?} is not allowed: this proxy answers to {} (add names with --allowed-hosts)", allowed.join(", ")),
    )
    .with_code("host_not_allowed");
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
}

/// `host[:port]`, `[v6]:port` or `v6` → the name without port and brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((name, _)) if !name.contains(':') => name,
        _ => host,
    }
}

/// axum middleware: 415 in the caller's protocol unless the request body is JSON
/// (`application/json`, `application/<x>+json`; parameters such as `charset` allowed). A body
/// without `Content-Type` passes only without an `Origin` header: scripts and SDKs may omit
/// the type, while a browser page's cross-site `fetch` of a type-less body always carries
/// `Origin`. The Ollama routes (`/api/…`) take any type unless `Origin` is present.
pub async fn require_json(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let browser = headers.get(header::ORIGIN).is_some();
    // Ollama's own server takes any type (its documented `curl -d` examples send a form type);
    // only a browser page is refused there.
    let ollama = request.uri().path().starts_with("/api/");
    if !browser && (ollama || headers.get(header::CONTENT_TYPE).is_none()) {
        return next.run(request).await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        return next.run(request).await;
    }
    let error = ApiError::new(
        FailureKind::UnsupportedMediaType,
        format!(
            "expected a JSON body with `Content-Type: application/json`, got {:?}",
            content_type
        ),
    );
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
}

/// Largest framework error body read back when re-rendering it.
const MAX_REJECTION_TEXT: usize = 4096;

/// axum middleware: an error answer that is not JSON (a framework rejection such as axum's
/// plain-text 413 "length limit exceeded") is re-rendered in the caller's protocol, with its
/// text as the message.
pub async fn protocol_errors(request: Request, next: Next) -> Response {
    let protocol = protocol_of(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !is_plain {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let error = ApiError::new(super::error::kind_of_status(status), message);
    Rejection::new(protocol, error).into_response()
}

/// Longest request target (path and query) answered normally; a longer one is 414.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Most bytes of header names and values together; more is 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most header fields in one request (hyper's own default limit); more is 431.
pub const MAX_HEADER_FIELDS: usize = 100;

/// axum middleware (outermost): 414 for a request target over [`MAX_URI_BYTES`] and 431 for
/// headers over [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`], in the caller's protocol. A head that overflows hyper's
/// read buffer (about [`super::serve::READ_BUFFER_BYTES`]; one socket read may take somewhat
/// more) never gets here: hyper answers it with a bare 431 and closes the connection.
pub async fn limit_head(request: Request, next: Next) -> Response {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let error = if uri_bytes > MAX_URI_BYTES {
        ApiError::new(
            FailureKind::UriTooLong,
            format!("the request target is {uri_bytes} bytes long; the limit is {MAX_URI_BYTES}"),
        )
    } else if request.headers().len() > MAX_HEADER_FIELDS {
        ApiError::new(
            FailureKind::HeadersTooLarge,
            format!(
                "the request has {} header fields; the limit is {MAX_HEADER_FIELDS}",
                request.headers().len()
            ),
        )
    } else if header_bytes > MAX_HEADER_BYTES {
        ApiError::new(
            FailureKind::HeadersTooLarge,
            format!(
                "the request headers hold {header_bytes} bytes; the limit is {MAX_HEADER_BYTES}"
            ),
        )
    } else {
        return next.run(request).await;
    };
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
}

/// Fallback: 404 in the caller's protocol.
pub async fn unknown_route(request: Request) -> Response {
    let error = ApiError::new(
        FailureKind::NotFound,
        format!(
            "unknown route: {} {}",
            request.method(),
            request.uri().path()
        ),
    );
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
}

/// Fallback: 405 in the caller's protocol.
pub async fn method_not_allowed(request: Request) -> Response {
    let error = ApiError::new(
        FailureKind::MethodNotAllowed,
        format!(
            "method {} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    );
    Rejection::new(protocol_of(request.uri().path()), error).into_response()
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
    fn gemini_query_key_is_accepted() {
        let policy = ApiKeyPolicy::Required("k y+1".into());
        let uri: Uri = "/v1beta/models/m:generateContent?alt=sse&key=k%20y%2B1"
            .parse()
            .expect("uri");
        assert!(policy.allows_request(&headers(&[]), Some(&uri)));
        let uri: Uri = "/v1beta/models?key=other".parse().expect("uri");
        assert!(!policy.allows_request(&headers(&[]), Some(&uri)));
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn host_names_lose_their_port_and_brackets() {
        assert_eq!(host_name("localhost:8788"), "localhost");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8788"), "::1");
        assert_eq!(host_name("::1"), "::1");
        assert_eq!(host_name("evil.example:80"), "evil.example");
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
