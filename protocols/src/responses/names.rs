//! The 64-character rule for tool names and call ids (protocols.md §1.4, §1.5, §7 item 14),
//! and the map that restores shortened tool names on the way back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::canonical::ProtocolError;

/// Longest tool name, call id or item id the backend accepts, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Tool names the encoder shortened, so that names coming back from the upstream can be
/// restored to what the client declared.
///
/// Shortening rule (after CPA `shortenNameIfNeeded`): a name of at most [`MAX_ID_LEN`] bytes is
/// kept; an `mcp__server__tool` name keeps its `mcp__` prefix and last segment when that fits;
/// anything else is cut to 64 bytes (at a character boundary). A shortened name that collides
/// with another tool's name gets a `_1`, `_2`… suffix (CPA uses `~1`, which OpenAI-style name
/// validation, `^[a-zA-Z0-9_-]+$`, would reject).
///
/// Lookups are hashed, so building the map for `n` tools is O(n) (a linear scan per name made
/// a 7 MB body with 80k tools cost 22 s of CPU).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNameMap {
    /// Names at most 64 bytes long that are in use, shortened ones included.
    taken: HashSet<Box<str>>,
    /// `(short, original)` pairs, in the order they were made.
    pairs: Vec<(Box<str>, Box<str>)>,
    /// short → index into `pairs`.
    by_short: HashMap<Box<str>, usize>,
    /// original → index into `pairs`.
    by_original: HashMap<Box<str>, usize>,
    /// base → the next suffix number to try, so that many names cut to the same base cost
    /// one probe each, not one per earlier collision.
    next_suffix: HashMap<Box<str>, u32>,
}

impl ToolNameMap {
    /// A map that knows `names` (all tool names of a request), shortening the long ones.
    pub fn build<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> Self {
        let mut map = Self::default();
        for name in names.clone() {
            if name.len() <= MAX_ID_LEN && !map.taken.contains(name) {
                map.taken.insert(Box::from(name));
            }
        }
        for name in names {
            map.shorten(name);
        }
        map
    }

    /// True when no name was shortened: restoring is then a no-op.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The name to send upstream for `original`, registering a new short name when needed.
    pub fn shorten(&mut self, original: &str) -> String {
        if original.len() <= MAX_ID_LEN {
            if !self.taken.contains(original) {
                self.taken.insert(Box::from(original));
            }
            return original.to_owned();
        }
        if let Some(&i) = self.by_original.get(original) {
            return self.pairs[i].0.to_string();
        }
        let base = mcp_short(original).unwrap_or_else(|| truncate(original, MAX_ID_LEN).to_owned());
        let mut candidate = base.clone();
        let mut n = self.next_suffix.get(base.as_str()).copied().unwrap_or(1);
        while self.taken.contains(candidate.as_str()) {
            let suffix = format!("_{n}");
            candidate = format!("{}{suffix}", truncate(&base, MAX_ID_LEN - suffix.len()));
            n += 1;
        }
        self.next_suffix.insert(Box::from(base.as_str()), n);
        self.taken.insert(Box::from(candidate.as_str()));
        let i = self.pairs.len();
        self.by_short.insert(Box::from(candidate.as_str()), i);
        self.by_original.insert(Box::from(original), i);
        self.pairs
            .push((Box::from(candidate.as_str()), Box::from(original)));
        candidate
    }

    /// The client's name for an upstream tool name (identity when it was not shortened).
    pub fn original<'a>(&'a self, upstream: &'a str) -> &'a str {
        self.by_short
            .get(upstream)
            .map_or(upstream, |&i| &self.pairs[i].1)
    }

    /// Restores shortened tool names inside one raw upstream event (for the `/v1/responses`
    /// passthrough, which forwards events unchanged otherwise).
    ///
    /// Rewrites `name` of `function_call` / `custom_tool_call` items in `item`,
    /// `response.output[]` and `response.tools[]`. Returns `Ok(None)` when nothing needs to
    /// change, which is the case without parsing when no name was shortened or when no short
    /// name occurs in `data`.
    ///
    /// # Errors
    /// [`ProtocolError::MalformedEvent`] when `data` holds a short name but is not JSON.
    pub fn restore_event(&self, data: &[u8]) -> Result<Option<Vec<u8>>, ProtocolError> {
        if self.is_empty()
            || !self
                .pairs
                .iter()
                .any(|(s, _)| memchr::memmem::find(data, s.as_bytes()).is_some())
        {
            return Ok(None);
        }
        let mut value: Value =
            serde_json::from_slice(data).map_err(|source| ProtocolError::MalformedEvent {
                source,
                can_continue: true,
            })?;
        let mut changed = false;
        if let Some(item) = value.get_mut("item") {
            changed |= self.restore_item(item);
        }
        if let Some(response) = value.get_mut("response") {
            for key in ["output", "tools"] {
                if let Some(Value::Array(items)) = response.get_mut(key) {
                    for item in items {
                        changed |= self.restore_item(item);
                    }
                }
            }
        }
        if !changed {
            return Ok(None);
        }
        serde_json::to_vec(&value)
            .map(Some)
            .map_err(ProtocolError::Serialize)
    }

    fn restore_item(&self, item: &mut Value) -> bool {
        let Some(Value::String(name)) = item.get_mut("name") else {
            return false;
        };
        let original = self.original(name);
        if original == name.as_str() {
            return false;
        }
        *name = original.to_owned();
        true
    }
}

/// `mcp__server__tool` → `mcp__tool` when the long name is an MCP name and the result fits.
fn mcp_short(name: &str) -> Option<String> {
    let rest = name.strip_prefix("mcp__")?;
    let last = rest.rsplit("__").next()?;
    let short = format!("mcp__{last}");
    (short.len() <= MAX_ID_LEN).then_some(short)
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// A call id or item id of at most [`MAX_ID_LEN`] bytes: longer ids become their first 47
/// bytes, `_`, and 16 hex digits of their FNV-1a 64-bit hash. Deterministic, so a call and its
/// output still pair up after shortening.
pub fn shorten_id(id: &str) -> Cow<'_, str> {
    if id.len() <= MAX_ID_LEN {
        return Cow::Borrowed(id);
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Cow::Owned(format!("{}_{hash:016x}", truncate(id, MAX_ID_LEN - 17)))
}
