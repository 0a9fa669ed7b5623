//! The bodies of Ollama's model routes (protocols.md §4d; gateways.md §7): `GET /api/version`,
//! `GET /api/tags`, `GET /api/ps`, `POST /api/show`, `POST /api/pull`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical::ProtocolError;
use crate::models::CONTEXT_WINDOW_TOKENS;

/// The version `GET /api/version` reports: a plain semver at least 0.13.4, which Codex
/// `--oss` requires (clients.md §4 "Bonus").
pub const OLLAMA_VERSION: &str = "0.13.5";

/// `GET /` body.
pub const ROOT_TEXT: &str = "Ollama is running";

/// What every model can do (`/api/show` `capabilities`).
pub const CAPABILITIES: [&str; 4] = ["completion", "tools", "vision", "thinking"];

/// `secs` (Unix time, UTC) and `nanos` as RFC 3339 with nanoseconds, e.g.
/// `2025-10-17T23:14:07.410000000Z` (the form of Ollama's `created_at`).
pub fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A stable digest-like id for a model name (64 hex digits, FNV-1a based; not a content
/// digest: the models are remote).
fn digest(name: &str) -> String {
    let mut out = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u64..4 {
        for b in name.bytes().chain(round.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

#[derive(Debug, Serialize)]
struct Details<'a> {
    parent_model: &'static str,
    format: &'static str,
    family: &'a str,
    families: [&'a str; 1],
    parameter_size: &'static str,
    quantization_level: &'static str,
}

fn details(name: &str) -> Details<'_> {
    Details {
        parent_model: "",
        format: "remote",
        family: name,
        families: [name],
        parameter_size: "unknown",
        quantization_level: "unknown",
    }
}

/// `GET /api/version`: `{"version":"0.13.5"}`.
pub fn version_json() -> Vec<u8> {
    format!("{{\"version\":\"{OLLAMA_VERSION}\"}}").into_bytes()
}

/// `GET /api/tags`: `{"models":[{"name","model","modified_at","size","digest","details"}]}`.
/// `modified_at` is RFC 3339.
pub fn tags_json<'a>(ids: impl Iterator<Item = &'a str>, modified_at: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Tag<'a> {
        name: &'a str,
        model: &'a str,
        modified_at: &'a str,
        size: u64,
        digest: String,
        details: Details<'a>,
    }
    let models: Vec<Tag<'_>> = ids
        .map(|id| Tag {
            name: id,
            model: id,
            modified_at,
            size: 0,
            digest: digest(id),
            details: details(id),
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "models": models })).unwrap_or_default()
}

/// `GET /api/ps`: the "loaded" models (all of them: nothing is loaded locally), with
/// `expires_at` and `size_vram` 0.
pub fn ps_json<'a>(ids: impl Iterator<Item = &'a str>, expires_at: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Loaded<'a> {
        name: &'a str,
        model: &'a str,
        size: u64,
        digest: String,
        details: Details<'a>,
        expires_at: &'a str,
        size_vram: u64,
        context_length: u64,
    }
    let models: Vec<Loaded<'_>> = ids
        .map(|id| Loaded {
            name: id,
            model: id,
            size: 0,
            digest: digest(id),
            details: details(id),
            expires_at,
            size_vram: 0,
            context_length: CONTEXT_WINDOW_TOKENS,
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "models": models })).unwrap_or_default()
}

/// The `model` (or older `name`) field of `/api/show`, `/api/pull` bodies.
#[derive(Debug, Deserialize)]
struct ModelField {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The model named by a `/api/show` or `/api/pull` body.
///
/// # Errors
/// [`ProtocolError::InvalidJson`] for a body that is not a JSON object;
/// [`ProtocolError::InvalidRequest`] when it names no model.
pub fn requested_model(body: &[u8]) -> Result<String, ProtocolError> {
    let field: ModelField = serde_json::from_slice(body).map_err(ProtocolError::InvalidJson)?;
    field
        .model
        .or(field.name)
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ProtocolError::invalid("model is required", Some("model")))
}

/// `POST /api/show` for a known model: `modelfile`, `parameters`, `template`, `details`,
/// `model_info` with `general.architecture` and `"<arch>.context_length"`, `capabilities`
/// ([`CAPABILITIES`]), `modified_at`.
pub fn show_json(name: &str, modified_at: &str) -> Vec<u8> {
    let arch = name;
    let mut info = Map::new();
    info.insert("general.architecture".into(), Value::from(arch));
    info.insert("general.basename".into(), Value::from(name));
    info.insert(
        format!("{arch}.context_length"),
        Value::from(CONTEXT_WINDOW_TOKENS),
    );
    let body = serde_json::json!({
        "license": "",
        "modelfile": format!("# served by codex-pipe from the Codex backend\nFROM {name}\n"),
        "parameters": format!("num_ctx {CONTEXT_WINDOW_TOKENS}"),
        "template": "{{ .Prompt }}",
        "details": details(name),
        "model_info": info,
        "capabilities": CAPABILITIES,
        "modified_at": modified_at,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `POST /api/pull` for a known model, not streamed: `{"status":"success"}`.
pub const PULL_SUCCESS: &[u8] = b"{\"status\":\"success\"}";

/// `POST /api/pull` streamed (the default): the progress lines of a model that is already
/// there, `pulling manifest` then `success`, as NDJSON.
pub const PULL_STREAM: &[u8] = b"{\"status\":\"pulling manifest\"}\n{\"status\":\"success\"}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_760_742_847, 410_000_000),
            "2025-10-17T23:14:07.410000000Z"
        );
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
    }

    #[test]
    fn digests_are_stable_hex_and_distinct() {
        let a = digest("gpt-5.4");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, digest("gpt-5.4"));
        assert_ne!(a, digest("gpt-5.5"));
    }

    #[test]
    fn show_has_capabilities_and_context_length() {
        let v: Value =
            serde_json::from_slice(&show_json("gpt-5.4", "2026-01-01T00:00:00Z")).expect("json");
        assert_eq!(v["model_info"]["general.architecture"], "gpt-5.4");
        assert_eq!(
            v["model_info"]["gpt-5.4.context_length"],
            CONTEXT_WINDOW_TOKENS
        );
        assert_eq!(
            v["capabilities"],
            serde_json::json!(["completion", "tools", "vision", "thinking"])
        );
        assert_eq!(
            requested_model(br#"{"name":"gpt-5.4"}"#).expect("model"),
            "gpt-5.4"
        );
        assert!(requested_model(b"{}").is_err());
    }
}
