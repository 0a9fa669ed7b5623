//! Gemini `GET models`, `GET models/{model}` and `:countTokens` bodies (protocols.md §4c).

use serde::Serialize;

use crate::models::{CONTEXT_WINDOW_TOKENS, MAX_OUTPUT_TOKENS};

/// Methods every listed model supports.
pub const GENERATION_METHODS: [&str; 3] =
    ["generateContent", "streamGenerateContent", "countTokens"];

/// One `Model` resource: `name` is `models/<id>`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelOut<'a> {
    name: String,
    base_model_id: &'a str,
    version: &'static str,
    display_name: &'a str,
    description: &'static str,
    input_token_limit: u64,
    output_token_limit: u64,
    supported_generation_methods: [&'static str; 3],
    thinking: bool,
}

fn model(id: &str) -> ModelOut<'_> {
    ModelOut {
        name: format!("models/{id}"),
        base_model_id: id,
        version: "codex",
        display_name: id,
        description: "A Codex backend model served by codex-pipe",
        input_token_limit: CONTEXT_WINDOW_TOKENS,
        output_token_limit: MAX_OUTPUT_TOKENS,
        supported_generation_methods: GENERATION_METHODS,
        thinking: true,
    }
}

/// `GET models`: `{"models":[{"name":"models/<id>",…}]}` for `ids`, in order.
pub fn models_json<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        models: Vec<ModelOut<'a>>,
    }
    let list = List {
        models: ids.map(model).collect(),
    };
    serde_json::to_vec(&list).unwrap_or_default()
}

/// `GET models/{model}`: one `Model` resource.
pub fn model_json(id: &str) -> Vec<u8> {
    serde_json::to_vec(&model(id)).unwrap_or_default()
}

/// `:countTokens`: `{"totalTokens":n}`.
pub fn count_tokens_json(total_tokens: u64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Count {
        total_tokens: u64,
    }
    serde_json::to_vec(&Count { total_tokens }).unwrap_or_default()
}

/// The model id of a path segment: `models/gpt-5.4` and `gpt-5.4` → `gpt-5.4`.
pub fn model_id(name: &str) -> &str {
    name.strip_prefix("models/").unwrap_or(name)
}
