//! `--api-keys-file`: named client keys, so usage is attributed per key (metrics `key` label,
//! usage log `key` field). The file is one JSON object, name → key:
//!
//! ```json
//! {"alice": "sk-local-alice-…", "ci": "sk-local-ci-…"}
//! ```
//!
//! Every presented key is compared with every configured key in constant time ([`subtle`]);
//! only lengths can leak. A single `--api-key` given as well joins the set under the name
//! `default`.

use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Name of the key given with `--api-key` when `--api-keys-file` is used too.
pub const DEFAULT_KEY_NAME: &str = "default";

/// Named keys.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeys {
    keys: Vec<(Arc<str>, Box<[u8]>)>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|(n, _)| &**n).collect();
        f.debug_struct("ApiKeys").field("names", &names).finish()
    }
}

/// Why a keys file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeysError {
    /// The file cannot be read.
    #[error("cannot read --api-keys-file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a JSON object of strings.
    #[error("--api-keys-file {path} must be a JSON object of name → key strings: {detail}")]
    Shape {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// An empty key, or one key under two names.
    #[error("--api-keys-file {path}: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl ApiKeys {
    /// Reads `path`; `single` (`--api-key`) joins as [`DEFAULT_KEY_NAME`].
    ///
    /// # Errors
    /// [`ApiKeysError`].
    pub fn load(path: &Path, single: Option<&str>) -> Result<Self, ApiKeysError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ApiKeysError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, single).map_err(|e| match e {
            ApiKeysError::Shape { detail, .. } => ApiKeysError::Shape {
                path: shown,
                detail,
            },
            ApiKeysError::Invalid { detail, .. } => ApiKeysError::Invalid {
                path: shown,
                detail,
            },
            other => other,
        })
    }

    /// Parses the JSON text of a keys file.
    ///
    /// # Errors
    /// [`ApiKeysError::Shape`], [`ApiKeysError::Invalid`] (with an empty path).
    pub fn parse(text: &str, single: Option<&str>) -> Result<Self, ApiKeysError> {
        let map: std::collections::BTreeMap<String, String> =
            serde_json::from_str(text).map_err(|e| ApiKeysError::Shape {
                path: String::new(),
                detail: e.to_string(),
            })?;
        let invalid = |detail: String| ApiKeysError::Invalid {
            path: String::new(),
            detail,
        };
        let mut keys: Vec<(Arc<str>, Box<[u8]>)> = Vec::with_capacity(map.len() + 1);
        let single = single.map(|k| (DEFAULT_KEY_NAME.to_owned(), k.to_owned()));
        for (name, key) in map.into_iter().chain(single) {
            let key = key.trim();
            if key.is_empty() {
                return Err(invalid(format!("the key named {name:?} is empty")));
            }
            if let Some((other, _)) = keys.iter().find(|(_, k)| &**k == key.as_bytes()) {
                return Err(invalid(format!(
                    "{name:?} and {other:?} have the same key; give each client its own"
                )));
            }
            keys.push((name.into(), key.as_bytes().into()));
        }
        if keys.is_empty() {
            return Err(invalid("no keys".to_owned()));
        }
        Ok(ApiKeys { keys })
    }

    /// The name of the key `headers` present (any header [`super::layers`] accepts), if
    /// one matches. Every configured key is compared, whichever matches.
    pub fn identify(&self, headers: &HeaderMap) -> Option<Arc<str>> {
        self.identify_request(headers, None)
    }

    /// As [`Self::identify`], also reading the `key` query parameter of `uri` (Gemini's form).
    pub fn identify_request(
        &self,
        headers: &HeaderMap,
        uri: Option<&axum::http::Uri>,
    ) -> Option<Arc<str>> {
        let query = uri.and_then(super::layers::query_key);
        let presented =
            super::layers::presented_keys(headers).chain(query.as_deref().map(str::as_bytes));
        let mut found = None;
        for presented in presented {
            for (name, key) in &self.keys {
                if bool::from(presented.ct_eq(key)) {
                    found = Some(name.clone());
                }
            }
        }
        found
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `false` (a set is never empty).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
        );
        h
    }

    #[test]
    fn names_the_matching_key_and_refuses_others() {
        let keys = ApiKeys::parse(r#"{"alice":"k-a","ci":"k-ci"}"#, Some("k-one")).expect("keys");
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.identify(&bearer("k-a")).as_deref(), Some("alice"));
        assert_eq!(keys.identify(&bearer("k-ci")).as_deref(), Some("ci"));
        assert_eq!(keys.identify(&bearer("k-one")).as_deref(), Some("default"));
        assert_eq!(keys.identify(&bearer("k-")), None);
        assert_eq!(keys.identify(&HeaderMap::new()), None);
        assert!(!format!("{keys:?}").contains("k-a"));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(matches!(
            ApiKeys::parse("[1]", None),
            Err(ApiKeysError::Shape { .. })
        ));
        assert!(matches!(
            ApiKeys::parse(r#"{"a":" "}"#, None),
            Err(ApiKeysError::Invalid { .. })
        ));
        assert!(matches!(
            ApiKeys::parse(r#"{"a":"k","b":"k"}"#, None),
            Err(ApiKeysError::Invalid { .. })
        ));
        assert!(matches!(
            ApiKeys::parse("{}", None),
            Err(ApiKeysError::Invalid { .. })
        ));
    }
}
