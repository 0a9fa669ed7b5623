//! The model catalog: names served by `GET /v1/models`, `-<effort>` / `-fast` suffixes and
//! aliases (protocols.md §6).
//!
//! Resolution of a requested name, after CP `parseModelName`:
//! 1. empty → the default model (which may itself carry suffixes);
//! 2. an exact alias or catalog match wins before any suffix is stripped;
//! 3. otherwise a tier suffix `-fast` (→ upstream `priority`) or `-flex` is stripped from the
//!    end, then an effort suffix `-none|-minimal|-low|-medium|-high|-xhigh`;
//! 4. the base is looked up as an alias (whose target may carry its own suffixes; the
//!    requested ones win), else used as is, or replaced by the default model when the
//!    configuration says unknown models map to it.
//!
//! Claude model names (`claude-opus-4-8[1m]`, `claude-sonnet-4-5-20250929`, `claude-3-5-haiku`)
//! that are no alias themselves resolve by family ([`ModelCatalog::resolve`], step 4): the
//! name without its `[…]` suffix and `-YYYYMMDD` date, as an alias; then the family alias
//! (`claude-opus`, `claude-sonnet`, `claude-haiku`); then the built-in defaults: opus → the
//! strongest model at high effort (`gpt-5.5-high`), sonnet → the default model, haiku → the
//! default model at low effort. A `--models-config` alias for any of these names overrides them.
//!
//! Precedence when applied to a request ([`ModelCatalog::apply`]): explicit request fields
//! (`reasoning_effort`, `service_tier`) > suffixes > configured defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::canonical::{ChatRequest, ReasoningEffort, ServiceTier};

/// Upstream model slugs known to the Codex backend (protocols.md §1.3, §6).
pub const BUILTIN_MODELS: &[&str] = &[
    "gpt-5.5",
    "gpt-5.4",
    "gpt-5.3-codex",
    "gpt-5.2",
    "gpt-5.1",
    "gpt-5.1-codex",
    "gpt-5",
    "gpt-5-codex",
];

/// Context window of the Codex backend models, in tokens, reported where a client asks for a
/// model's limits (Gemini `inputTokenLimit`, Ollama `model_info["<arch>.context_length"]`).
pub const CONTEXT_WINDOW_TOKENS: u64 = 272_000;

/// Largest answer of the Codex backend models, in tokens (Gemini `outputTokenLimit`).
pub const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// The Claude model families, and the built-in target of each (module docs): `None` is the
/// default model; `Some(effort)` with no slug is the default model at that effort.
pub const CLAUDE_FAMILIES: [(&str, Option<&str>, Option<ReasoningEffort>); 3] = [
    ("claude-opus", Some("gpt-5.5-high"), None),
    ("claude-sonnet", None, None),
    ("claude-haiku", None, Some(ReasoningEffort::Low)),
];

/// Claude model ids listed by the Anthropic-shaped `GET /v1/models` besides the configured
/// Claude aliases (current names; any name of a family resolves, module docs).
pub const CLAUDE_MODEL_IDS: [&str; 3] =
    ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"];

/// Error in the model configuration, reported when the binary loads it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelConfigError {
    /// The configuration text is not valid JSON of the [`ModelConfig`] shape.
    #[error("invalid model configuration: {0}")]
    Parse(#[from] serde_json::Error),
    /// A field holds an unusable value.
    #[error("invalid model configuration field {field}: {reason}")]
    Invalid {
        /// The field, e.g. `aliases.claude-sonnet-4-6`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What to do with a requested model that is neither in the catalog nor an alias.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownModels {
    /// Send the name upstream unchanged (newer upstream models work without a config change).
    #[default]
    Passthrough,
    /// Use the default model instead (for clients with hard-coded model names).
    Default,
}

/// The model configuration file, e.g.
///
/// ```json
/// {
///   "default_model": "gpt-5.4",
///   "default_reasoning_effort": "medium",
///   "aliases": { "claude-sonnet-4-6": "gpt-5.4", "claude-opus-4-7": "gpt-5.5-high" },
///   "models": ["gpt-5.6"],
///   "unknown_models": "passthrough"
/// }
/// ```
///
/// It derives [`Deserialize`], so a TOML file with the same keys works through the `toml`
/// crate too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Model used when the request names none; overrides the binary's default.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Reasoning effort used when neither the request nor a suffix sets one.
    #[serde(default)]
    pub default_reasoning_effort: Option<String>,
    /// Client model name → upstream model name (suffixes allowed in the target).
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Extra upstream models to list, after [`BUILTIN_MODELS`].
    #[serde(default)]
    pub models: Vec<String>,
    /// Policy for names neither listed nor aliased.
    #[serde(default)]
    pub unknown_models: UnknownModels,
}

impl ModelConfig {
    /// Parses a JSON configuration text.
    ///
    /// # Errors
    /// [`ModelConfigError::Parse`] for invalid JSON or unknown keys.
    pub fn from_json_str(text: &str) -> Result<Self, ModelConfigError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Validates the configuration and builds the catalog. `default_model` is the binary's
    /// default (e.g. `model` from `~/.codex/config.toml`), used when the configuration has
    /// none.
    ///
    /// # Errors
    /// [`ModelConfigError::Invalid`] for an empty alias name or target, an unknown
    /// `default_reasoning_effort`, or an empty default model.
    pub fn build(self, default_model: &str) -> Result<ModelCatalog, ModelConfigError> {
        let invalid = |field: String, reason: &str| ModelConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        for (from, to) in &self.aliases {
            if from.trim().is_empty() || to.trim().is_empty() {
                return Err(invalid(format!("aliases.{from}"), "empty model name"));
            }
        }
        let default_effort = match &self.default_reasoning_effort {
            None => None,
            Some(e) => Some(ReasoningEffort::parse(e).ok_or_else(|| {
                invalid(
                    "default_reasoning_effort".into(),
                    "expected none, minimal, low, medium, high or xhigh",
                )
            })?),
        };
        let default_model = self
            .default_model
            .unwrap_or_else(|| default_model.to_owned());
        if default_model.trim().is_empty() {
            return Err(invalid("default_model".into(), "empty model name"));
        }
        let mut models: Vec<String> = BUILTIN_MODELS.iter().map(|m| (*m).to_owned()).collect();
        for m in self.models {
            if !models.contains(&m) {
                models.push(m);
            }
        }
        Ok(ModelCatalog {
            models,
            aliases: self.aliases,
            default_model,
            default_effort,
            unknown: self.unknown_models,
        })
    }
}

/// What a requested model name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// Upstream model slug.
    pub upstream: String,
    /// Effort from a suffix.
    pub effort: Option<ReasoningEffort>,
    /// Service tier from a suffix.
    pub tier: Option<ServiceTier>,
}

/// The resolved catalog ([`ModelConfig::build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCatalog {
    models: Vec<String>,
    aliases: BTreeMap<String, String>,
    default_model: String,
    default_effort: Option<ReasoningEffort>,
    unknown: UnknownModels,
}

impl ModelCatalog {
    /// The built-in catalog with no aliases and `default_model`.
    pub fn builtin(default_model: &str) -> Self {
        Self {
            models: BUILTIN_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            aliases: BTreeMap::new(),
            default_model: default_model.to_owned(),
            default_effort: None,
            unknown: UnknownModels::Passthrough,
        }
    }

    /// Resolves a requested model name (module docs give the rules).
    pub fn resolve(&self, requested: &str) -> ResolvedModel {
        let name = requested.trim();
        if name.is_empty() {
            return self.resolve_target(&self.default_model);
        }
        if let Some(target) = self.aliases.get(name) {
            return self.resolve_target(target);
        }
        if self.models.iter().any(|m| m == name) {
            return plain(name);
        }
        let (base, effort, tier) = split_suffixes(name);
        let mut resolved = match self.aliases.get(base) {
            Some(target) => self.resolve_target(target),
            None if self.models.iter().any(|m| m == base) => plain(base),
            None if base.starts_with("claude") => self.resolve_claude(base),
            None if self.unknown == UnknownModels::Passthrough => plain(base),
            None => self.resolve_target(&self.default_model),
        };
        resolved.effort = effort.or(resolved.effort);
        resolved.tier = tier.or(resolved.tier);
        resolved
    }

    /// A Claude name that is no alias (module docs): the name without `[…]` and date, the
    /// family alias, the family's built-in target; a name of no known family → the default.
    fn resolve_claude(&self, name: &str) -> ResolvedModel {
        let mut base = name.split('[').next().unwrap_or(name);
        if let Some((rest, date)) = base.rsplit_once('-') {
            if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
                base = rest;
            }
        }
        if let Some(target) = self.aliases.get(base) {
            return self.resolve_target(target);
        }
        let family = CLAUDE_FAMILIES
            .iter()
            .find(|(family, _, _)| base.contains(&family["claude-".len()..]));
        let Some((family, target, effort)) = family else {
            return self.resolve_target(&self.default_model);
        };
        if let Some(target) = self.aliases.get(*family) {
            return self.resolve_target(target);
        }
        let mut resolved = self.resolve_target(target.unwrap_or(&self.default_model));
        resolved.effort = resolved.effort.or(*effort);
        resolved
    }

    /// The Anthropic-shaped `GET /v1/models` body (`{"data":[{"type":"model","id",
    /// "display_name","created_at"}],"has_more":false,"first_id","last_id"}`): the configured
    /// aliases whose name contains `claude`, then [`CLAUDE_MODEL_IDS`]. Claude Code's gateway
    /// model discovery keeps only ids containing "claude" (gateways.md §1).
    pub fn anthropic_list_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Entry<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            id: &'a str,
            display_name: &'a str,
            created_at: &'static str,
        }
        let mut ids: Vec<&str> = self
            .aliases
            .keys()
            .map(String::as_str)
            .filter(|a| a.contains("claude"))
            .collect();
        for id in CLAUDE_MODEL_IDS {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let data: Vec<Entry<'_>> = ids
            .iter()
            .map(|id| Entry {
                kind: "model",
                id,
                display_name: id,
                created_at: "2025-01-01T00:00:00Z",
            })
            .collect();
        let body = serde_json::json!({
            "data": data,
            "has_more": false,
            "first_id": ids.first(),
            "last_id": ids.last(),
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// An alias target or the default model: suffixes are parsed, no further alias lookup.
    fn resolve_target(&self, target: &str) -> ResolvedModel {
        if self.models.iter().any(|m| m == target) {
            return plain(target);
        }
        let (base, effort, tier) = split_suffixes(target);
        ResolvedModel {
            upstream: base.to_owned(),
            effort,
            tier,
        }
    }

    /// Resolves `req.model` and applies it: the model becomes the upstream slug; effort and
    /// tier are set from the suffix (or the configured default effort) unless the request set
    /// them explicitly. Returns the resolution.
    pub fn apply(&self, req: &mut ChatRequest) -> ResolvedModel {
        let resolved = self.resolve(&req.model);
        req.model.clone_from(&resolved.upstream);
        if req.reasoning_effort.is_none() {
            req.reasoning_effort = resolved.effort.or(self.default_effort);
        }
        if req.service_tier.is_none() {
            req.service_tier = resolved.tier;
        }
        resolved
    }

    /// Every name a client may ask for: catalog models, then aliases that are not also
    /// models (the order of [`Self::list_json`]).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(String::as_str).chain(
            self.aliases
                .keys()
                .filter(|a| !self.models.contains(a))
                .map(String::as_str),
        )
    }

    /// True when `name` is listed by [`Self::ids`] or resolves, through its suffixes, to a
    /// catalog model or an alias (`gpt-5.4-high-fast`).
    pub fn knows(&self, name: &str) -> bool {
        let name = name.trim();
        if self.ids().any(|id| id == name) {
            return true;
        }
        let (base, _, _) = split_suffixes(name);
        base != name && self.ids().any(|id| id == base)
    }

    /// The `GET /v1/models` body (protocols.md §4a): catalog models, then aliases, as
    /// `{"object":"list","data":[{"id","object":"model","created":0,"owned_by":"openai"}]}`.
    pub fn list_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct List<'a> {
            object: &'static str,
            data: Vec<Entry<'a>>,
        }
        #[derive(Serialize)]
        struct Entry<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            owned_by: &'static str,
        }
        let ids = self
            .models
            .iter()
            .chain(self.aliases.keys().filter(|a| !self.models.contains(a)));
        let list = List {
            object: "list",
            data: ids
                .map(|id| Entry {
                    id,
                    object: "model",
                    created: 0,
                    owned_by: "openai",
                })
                .collect(),
        };
        serde_json::to_vec(&list).unwrap_or_default()
    }
}

fn plain(name: &str) -> ResolvedModel {
    ResolvedModel {
        upstream: name.to_owned(),
        effort: None,
        tier: None,
    }
}

/// `gpt-5.4-high-fast` → (`gpt-5.4`, high, priority). A suffix is only stripped when
/// something remains before it.
fn split_suffixes(name: &str) -> (&str, Option<ReasoningEffort>, Option<ServiceTier>) {
    let mut base = name;
    let mut tier = None;
    for (suffix, t) in [
        ("-fast", ServiceTier::Priority),
        ("-flex", ServiceTier::Flex),
    ] {
        if let Some(rest) = base.strip_suffix(suffix).filter(|r| !r.is_empty()) {
            base = rest;
            tier = Some(t);
            break;
        }
    }
    let mut effort = None;
    if let Some((rest, last)) = base.rsplit_once('-') {
        if let Some(e) = ReasoningEffort::parse(last).filter(|_| !rest.is_empty()) {
            base = rest;
            effort = Some(e);
        }
    }
    (base, effort, tier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ModelCatalog {
        ModelConfig::from_json_str(
            r#"{"aliases":{"claude-sonnet-4-6":"gpt-5.4","claude-opus-4-7":"gpt-5.5-high"},
                "models":["gpt-5.6"],"default_reasoning_effort":"low"}"#,
        )
        .expect("valid config")
        .build("gpt-5.4")
        .expect("valid catalog")
    }

    fn r(
        upstream: &str,
        effort: Option<ReasoningEffort>,
        tier: Option<ServiceTier>,
    ) -> ResolvedModel {
        ResolvedModel {
            upstream: upstream.into(),
            effort,
            tier,
        }
    }

    #[test]
    fn suffixes_aliases_and_defaults() {
        use ReasoningEffort as E;
        let c = catalog();
        assert_eq!(c.resolve("gpt-5.4"), r("gpt-5.4", None, None));
        assert_eq!(c.resolve("gpt-5.4-high"), r("gpt-5.4", Some(E::High), None));
        assert_eq!(
            c.resolve("gpt-5.4-xhigh-fast"),
            r("gpt-5.4", Some(E::XHigh), Some(ServiceTier::Priority))
        );
        assert_eq!(
            c.resolve("gpt-5.4-flex"),
            r("gpt-5.4", None, Some(ServiceTier::Flex))
        );
        assert_eq!(
            c.resolve("gpt-5.3-codex-none"),
            r("gpt-5.3-codex", Some(E::None), None)
        );
        assert_eq!(c.resolve("claude-sonnet-4-6"), r("gpt-5.4", None, None));
        assert_eq!(
            c.resolve("claude-opus-4-7"),
            r("gpt-5.5", Some(E::High), None)
        );
        // Requested suffix wins over the alias target's.
        assert_eq!(
            c.resolve("claude-opus-4-7-low-fast"),
            r("gpt-5.5", Some(E::Low), Some(ServiceTier::Priority))
        );
        assert_eq!(c.resolve(""), r("gpt-5.4", None, None));
        assert_eq!(
            c.resolve("gpt-5.6-minimal"),
            r("gpt-5.6", Some(E::Minimal), None)
        );
        // Unknown names pass through, suffixes still parsed.
        assert_eq!(c.resolve("gpt-9-medium"), r("gpt-9", Some(E::Medium), None));
        // A suffix alone is not stripped.
        assert_eq!(c.resolve("-fast"), r("-fast", None, None));
    }

    #[test]
    fn claude_names_resolve_by_family() {
        use ReasoningEffort as E;
        let c = ModelCatalog::builtin("gpt-5.4");
        assert_eq!(
            c.resolve("claude-opus-4-8[1m]"),
            r("gpt-5.5", Some(E::High), None)
        );
        assert_eq!(
            c.resolve("claude-opus-4-1-20250805"),
            r("gpt-5.5", Some(E::High), None)
        );
        assert_eq!(c.resolve("claude-sonnet-4-6"), r("gpt-5.4", None, None));
        assert_eq!(
            c.resolve("claude-3-5-haiku-20241022"),
            r("gpt-5.4", Some(E::Low), None)
        );
        assert_eq!(
            c.resolve("claude-haiku-4-5-fast"),
            r("gpt-5.4", Some(E::Low), Some(ServiceTier::Priority))
        );
        assert_eq!(c.resolve("claude-unknown"), r("gpt-5.4", None, None));
        // Configured aliases win: exact name, undated name, family.
        let c = ModelConfig::from_json_str(
            r#"{"aliases":{"claude-opus":"gpt-5.4-xhigh","claude-sonnet-4-5":"gpt-5.2","claude-haiku-4-5":"gpt-5.1"}}"#,
        )
        .expect("valid")
        .build("gpt-5.4")
        .expect("valid");
        assert_eq!(
            c.resolve("claude-opus-4-8[1m]"),
            r("gpt-5.4", Some(E::XHigh), None)
        );
        assert_eq!(
            c.resolve("claude-sonnet-4-5-20250929"),
            r("gpt-5.2", None, None)
        );
        assert_eq!(c.resolve("claude-haiku-4-5"), r("gpt-5.1", None, None));
        let list: serde_json::Value =
            serde_json::from_slice(&c.anthropic_list_json()).expect("json");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|m| m["id"].as_str().expect("id"))
            .collect();
        assert!(ids.iter().all(|id| id.contains("claude")), "{ids:?}");
        assert!(ids.contains(&"claude-haiku-4-5") && ids.contains(&"claude-opus-4-8"));
        assert_eq!(list["has_more"], false);
    }

    #[test]
    fn unknown_models_to_default() {
        let c = ModelConfig::from_json_str(
            r#"{"unknown_models":"default","default_model":"gpt-5.5-high"}"#,
        )
        .expect("valid")
        .build("gpt-5.4")
        .expect("valid");
        assert_eq!(
            c.resolve("claude-haiku-4-5-fast"),
            r(
                "gpt-5.5",
                Some(ReasoningEffort::High),
                Some(ServiceTier::Priority)
            )
        );
        assert_eq!(c.resolve("gpt-5.1"), r("gpt-5.1", None, None));
    }

    #[test]
    fn explicit_fields_win_over_suffix_over_default() {
        let c = catalog();
        let mut req = ChatRequest {
            model: "gpt-5.4-high-fast".into(),
            reasoning_effort: Some(ReasoningEffort::Minimal),
            ..ChatRequest::default()
        };
        c.apply(&mut req);
        assert_eq!(req.model, "gpt-5.4");
        assert_eq!(req.reasoning_effort, Some(ReasoningEffort::Minimal));
        assert_eq!(req.service_tier, Some(ServiceTier::Priority));

        let mut req = ChatRequest {
            model: "gpt-5.4-high".into(),
            ..ChatRequest::default()
        };
        c.apply(&mut req);
        assert_eq!(req.reasoning_effort, Some(ReasoningEffort::High));

        let mut req = ChatRequest {
            model: "gpt-5.4".into(),
            ..ChatRequest::default()
        };
        c.apply(&mut req);
        assert_eq!(req.reasoning_effort, Some(ReasoningEffort::Low));
    }

    #[test]
    fn config_errors_are_typed() {
        assert!(matches!(
            ModelConfig::from_json_str(r#"{"alias":{}}"#),
            Err(ModelConfigError::Parse(_))
        ));
        let bad = ModelConfig::from_json_str(r#"{"default_reasoning_effort":"max"}"#)
            .expect("parses")
            .build("gpt-5.4");
        assert!(
            matches!(bad, Err(ModelConfigError::Invalid { field, .. }) if field == "default_reasoning_effort")
        );
        let bad = ModelConfig::from_json_str(r#"{"aliases":{"x":" "}}"#)
            .expect("parses")
            .build("gpt-5.4");
        assert!(matches!(bad, Err(ModelConfigError::Invalid { .. })));
    }

    #[test]
    fn ids_and_known_names() {
        let c = catalog();
        let ids: Vec<&str> = c.ids().collect();
        assert_eq!(ids.first(), Some(&"gpt-5.5"));
        assert!(ids.contains(&"claude-opus-4-7"));
        assert!(c.knows("gpt-5.4"));
        assert!(c.knows("gpt-5.4-high-fast"));
        assert!(c.knows("claude-sonnet-4-6-low"));
        assert!(!c.knows("llama3"));
    }

    #[test]
    fn models_list_shape() {
        let body: serde_json::Value = serde_json::from_slice(&catalog().list_json()).expect("json");
        assert_eq!(body["object"], "list");
        let ids: Vec<&str> = body["data"]
            .as_array()
            .expect("array")
            .iter()
            .map(|m| m["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids[0], "gpt-5.5");
        assert!(ids.contains(&"gpt-5.6"));
        assert!(ids.contains(&"claude-sonnet-4-6"));
        assert_eq!(body["data"][0]["object"], "model");
        assert_eq!(body["data"][0]["owned_by"], "openai");
        assert_eq!(body["data"][0]["created"], 0);
    }
}
