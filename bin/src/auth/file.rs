//! `auth.json`: locating, reading and atomically rewriting the Codex CLI login file
//! (protocols.md §2.1).
//!
//! ```json
//! {"auth_mode":"chatgpt","OPENAI_API_KEY":null,
//!  "tokens":{"id_token":"<JWT>","access_token":"<JWT>","refresh_token":"<opaque>","account_id":"<uuid>"},
//!  "last_refresh":"2025-10-01T12:34:56.789Z"}
//! ```
//!
//! The file is kept as a JSON object and patched in place, so keys this program does not know
//! (`agent_identity`, `personal_access_token`, future fields, unknown keys inside `tokens`) survive
//! a token refresh. Writes go to a temporary file in the same directory, mode 0600, flushed, then
//! renamed over the original: readers see the old file or the new one, never half of one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// Largest `auth.json` accepted, in bytes. A real one is 4–8 KiB.
pub const MAX_AUTH_FILE_BYTES: u64 = 1024 * 1024;

/// The token fields of `auth.json` this program uses, copied out of the document.
#[derive(Clone, PartialEq, Eq)]
pub struct FileTokens {
    /// `tokens.access_token`, non-empty.
    pub access_token: String,
    /// `tokens.refresh_token`, if present and non-empty.
    pub refresh_token: Option<String>,
    /// `tokens.id_token`, if present and non-empty.
    pub id_token: Option<String>,
    /// `tokens.account_id`, if present and non-empty.
    pub account_id: Option<String>,
}

impl std::fmt::Debug for FileTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTokens")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// What a parsed `auth.json` offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLogin {
    /// ChatGPT tokens are present.
    ChatGpt(FileTokens),
    /// No usable tokens, but `OPENAI_API_KEY` is set (API-key login, which the ChatGPT backend
    /// does not accept).
    ApiKeyOnly,
    /// Neither tokens nor an API key.
    Empty,
}

/// Why `auth.json` could not be read or written; the caller adds the path and advice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file does not exist.
    #[error("file not found")]
    NotFound,
    /// The file is larger than [`MAX_AUTH_FILE_BYTES`].
    #[error("file is {len} bytes, larger than the {max}-byte limit")]
    TooLarge {
        /// Size of the file in bytes.
        len: u64,
        /// The limit, [`MAX_AUTH_FILE_BYTES`].
        max: u64,
    },
    /// The file is not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// `tokens` exists but is not an object, or a token field is not a string.
    #[error("{0}")]
    BadShape(String),
    /// Reading, writing or renaming failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Locates `auth.json`: `explicit` if given, else `$CODEX_HOME/auth.json`, else
/// `$HOME/.codex/auth.json` (`%USERPROFILE%` on Windows). `env` looks up an environment variable
/// (tests pass a fake). Returns `None` when no home directory can be found.
pub fn resolve_path(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(home) = non_empty("CODEX_HOME") {
        return Some(PathBuf::from(home).join("auth.json"));
    }
    non_empty("HOME")
        .or_else(|| non_empty("USERPROFILE"))
        .map(|home| PathBuf::from(home).join(".codex").join("auth.json"))
}

/// Parses `auth.json` bytes into the document (kept for write-back) and what it offers.
///
/// # Errors
/// [`FileError::NotJson`] if the bytes are not a JSON object, [`FileError::BadShape`] if `tokens`
/// is not an object or a token field is not a string.
pub fn parse(bytes: &[u8]) -> Result<(Map<String, Value>, FileLogin), FileError> {
    let doc = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            return Err(FileError::NotJson(format!(
                "top level is {}",
                json_kind(&other)
            )))
        }
        Err(e) => return Err(FileError::NotJson(e.to_string())),
    };
    let login = login_of(&doc)?;
    Ok((doc, login))
}

fn login_of(doc: &Map<String, Value>) -> Result<FileLogin, FileError> {
    let tokens = match doc.get("tokens") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => Some(t),
        Some(other) => {
            return Err(FileError::BadShape(format!(
                "`tokens` is {}, expected an object",
                json_kind(other)
            )))
        }
    };
    let field = |name: &str| -> Result<Option<String>, FileError> {
        match tokens.and_then(|t| t.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(FileError::BadShape(format!(
                "`tokens.{name}` is {}, expected a string",
                json_kind(other)
            ))),
        }
    };
    if let Some(access_token) = field("access_token")? {
        return Ok(FileLogin::ChatGpt(FileTokens {
            access_token,
            refresh_token: field("refresh_token")?,
            id_token: field("id_token")?,
            account_id: field("account_id")?,
        }));
    }
    let has_api_key =
        matches!(doc.get("OPENAI_API_KEY"), Some(Value::String(k)) if !k.trim().is_empty());
    Ok(if has_api_key {
        FileLogin::ApiKeyOnly
    } else {
        FileLogin::Empty
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads `path`, refusing files over [`MAX_AUTH_FILE_BYTES`].
///
/// # Errors
/// [`FileError::NotFound`], [`FileError::TooLarge`] or [`FileError::Io`].
pub async fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
    use tokio::io::AsyncReadExt as _;
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::NotFound),
        Err(e) => return Err(FileError::Io(e)),
    };
    let mut bytes = Vec::with_capacity(8 * 1024);
    // Read one byte past the limit so an over-long file is detected without reading all of it.
    file.take(MAX_AUTH_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await?;
    let len = bytes.len() as u64;
    if len > MAX_AUTH_FILE_BYTES {
        return Err(FileError::TooLarge {
            len,
            max: MAX_AUTH_FILE_BYTES,
        });
    }
    Ok(bytes)
}

/// New token values from a refresh; `None` fields keep the file's current value.
#[derive(Default)]
pub struct TokenUpdate<'a> {
    /// New `tokens.access_token`.
    pub access_token: Option<&'a str>,
    /// New `tokens.refresh_token`.
    pub refresh_token: Option<&'a str>,
    /// New `tokens.id_token`.
    pub id_token: Option<&'a str>,
}

/// Patches `doc` with `update` (creating `tokens` if needed) and sets `last_refresh` to `now` in
/// RFC 3339 UTC. Every other key is left as it was.
pub fn apply_update(doc: &mut Map<String, Value>, update: &TokenUpdate<'_>, now: SystemTime) {
    let tokens = doc
        .entry("tokens")
        .or_insert_with(|| Value::Object(Map::new()));
    if !tokens.is_object() {
        *tokens = Value::Object(Map::new());
    }
    if let Value::Object(t) = tokens {
        for (key, value) in [
            ("access_token", update.access_token),
            ("refresh_token", update.refresh_token),
            ("id_token", update.id_token),
        ] {
            if let Some(v) = value {
                t.insert(key.to_owned(), Value::String(v.to_owned()));
            }
        }
    }
    doc.insert(
        "last_refresh".to_owned(),
        Value::String(rfc3339_utc_millis(now)),
    );
}

/// Writes `doc` to `path` atomically: pretty JSON into a temporary file in the target's
/// directory (following a symlinked `path` to its target), mode 0600 on Unix, `fsync`, then
/// rename over the target. Blocking: call it from a blocking thread.
///
/// # Errors
/// [`FileError::Io`] if the directory is not writable, the disk is full or the rename fails;
/// the original file is then unchanged.
pub fn write_atomic(path: &Path, doc: &Map<String, Value>) -> Result<(), FileError> {
    // Replace the file a symlink points at, not the symlink (dotfile managers link auth.json).
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".auth.json.")
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    serde_json::to_writer_pretty(&mut tmp, doc).map_err(std::io::Error::from)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| FileError::Io(e.error))?;
    Ok(())
}

/// Formats `t` as RFC 3339 UTC with milliseconds, e.g. `2025-10-01T12:34:56.789Z` (the
/// `last_refresh` format the Codex CLI writes). Times before 1970 format as the epoch.
pub fn rfc3339_utc_millis(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month 1–12, day 1–31); H. Hinnant's
/// `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in small ranges (see above), so the conversions cannot fail.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339_like_the_codex_cli() {
        let t = UNIX_EPOCH + Duration::from_millis(1_759_322_096_789);
        assert_eq!(rfc3339_utc_millis(t), "2025-10-01T12:34:56.789Z");
        assert_eq!(rfc3339_utc_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day and the last second of a year.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(rfc3339_utc_millis(leap), "2000-02-29T00:00:00.000Z");
        let eoy = UNIX_EPOCH + Duration::from_secs(1_704_067_199); // 2023-12-31T23:59:59Z
        assert_eq!(rfc3339_utc_millis(eoy), "2023-12-31T23:59:59.000Z");
    }

    #[test]
    fn resolves_the_path_in_documented_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let all = env(&[("CODEX_HOME", "/ch"), ("HOME", "/home/u")]);
        assert_eq!(
            resolve_path(Some(Path::new("/x/a.json")), &all),
            Some(PathBuf::from("/x/a.json"))
        );
        assert_eq!(
            resolve_path(None, &all),
            Some(PathBuf::from("/ch/auth.json"))
        );
        let home_only = env(&[("CODEX_HOME", ""), ("HOME", "/home/u")]);
        assert_eq!(
            resolve_path(None, &home_only),
            Some(PathBuf::from("/home/u/.codex/auth.json"))
        );
        assert_eq!(resolve_path(None, &env(&[])), None);
    }

    #[test]
    fn classifies_logins_and_shapes() {
        let (_, login) =
            parse(br#"{"tokens":{"access_token":" at ","refresh_token":""}}"#).expect("parse");
        let FileLogin::ChatGpt(t) = login else {
            panic!("expected tokens, got {login:?}")
        };
        assert_eq!(t.access_token, "at");
        assert_eq!(
            t.refresh_token, None,
            "empty refresh token counts as absent"
        );

        let (_, login) = parse(br#"{"OPENAI_API_KEY":"sk-x","tokens":null}"#).expect("parse");
        assert_eq!(login, FileLogin::ApiKeyOnly);
        let (_, login) = parse(br#"{"OPENAI_API_KEY":null}"#).expect("parse");
        assert_eq!(login, FileLogin::Empty);

        assert!(matches!(parse(b"[1]"), Err(FileError::NotJson(m)) if m.contains("an array")));
        assert!(matches!(parse(b"{"), Err(FileError::NotJson(_))));
        assert!(matches!(
            parse(br#"{"tokens":{"access_token":5}}"#),
            Err(FileError::BadShape(m)) if m.contains("tokens.access_token")
        ));
        assert!(matches!(
            parse(br#"{"tokens":"x"}"#),
            Err(FileError::BadShape(_))
        ));
    }

    #[test]
    fn update_patches_only_given_tokens_and_keeps_unknown_keys() {
        let (mut doc, _) = parse(
            br#"{"agent_identity":{"k":1},"tokens":{"access_token":"a","refresh_token":"r","extra":true}}"#,
        )
        .expect("parse");
        let now = UNIX_EPOCH + Duration::from_secs(86_400);
        apply_update(
            &mut doc,
            &TokenUpdate {
                access_token: Some("a2"),
                ..TokenUpdate::default()
            },
            now,
        );
        let v = Value::Object(doc);
        assert_eq!(v["tokens"]["access_token"], "a2");
        assert_eq!(v["tokens"]["refresh_token"], "r");
        assert_eq!(v["tokens"]["extra"], true);
        assert_eq!(v["agent_identity"]["k"], 1);
        assert_eq!(v["last_refresh"], "1970-01-02T00:00:00.000Z");
    }

    #[tokio::test]
    async fn read_refuses_oversized_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.json");
        std::fs::write(&path, vec![b' '; (MAX_AUTH_FILE_BYTES + 10) as usize]).expect("write");
        assert!(matches!(
            read_bounded(&path).await,
            Err(FileError::TooLarge { len, .. }) if len == MAX_AUTH_FILE_BYTES + 1
        ));
        assert!(matches!(
            read_bounded(&dir.path().join("missing.json")).await,
            Err(FileError::NotFound)
        ));
    }
}
