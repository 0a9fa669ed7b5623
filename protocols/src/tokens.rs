//! Local token counting for the `count_tokens` endpoints (Gemini `:countTokens`; meant to be
//! shared with Anthropic's `/v1/messages/count_tokens`): the Codex backend has no counting
//! endpoint, so the proxy counts with the tokenizer of the GPT-5 family, **o200k_base**
//! (tiktoken's BPE ranks, embedded in the `tiktoken-rs` crate: no download at run time).
//!
//! [`count_text`] counts one text exactly as tiktoken does (`encode_ordinary`: special-token
//! spellings such as `<|endoftext|>` count as plain text). [`count_request`] estimates a whole
//! [`ChatRequest`] the way OpenAI's cookbook does for chat input: the tokens of every text, plus
//! [`TOKENS_PER_ITEM`] per conversation item (role and separators), plus the tokens of each
//! tool's name, description and JSON schema. Images and files are counted as
//! [`TOKENS_PER_ATTACHMENT`] each (the backend's real cost depends on size and detail, which
//! the proxy does not decode). The result is an estimate of what the backend will report as
//! `input_tokens`, not a promise: the backend adds its own system framing.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::canonical::{ChatRequest, ContentPart, InputItem, Tool};

/// Tokens added per conversation item (message, tool call, tool result) for the role and the
/// message separators, after OpenAI's counting recipe for chat models.
pub const TOKENS_PER_ITEM: u64 = 3;

/// Tokens counted for one image or file part (a flat estimate; the proxy does not decode it).
pub const TOKENS_PER_ATTACHMENT: u64 = 256;

/// The o200k_base tokenizer, built once (about 30 ms) on first use.
fn bpe() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("the embedded o200k_base ranks load"))
}

/// Tokens of `text` under o200k_base, special-token spellings counted as plain text.
pub fn count_text(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    bpe().encode_ordinary(text).len() as u64
}

/// Estimated input tokens of `req` (module docs: texts, per-item overhead, tools).
pub fn count_request(req: &ChatRequest) -> u64 {
    let mut total = 0;
    if !req.instructions.is_empty() {
        total += TOKENS_PER_ITEM + count_text(&req.instructions);
    }
    for item in &req.input {
        total += TOKENS_PER_ITEM;
        total += match item {
            InputItem::Message { content, .. } => count_parts(content),
            InputItem::FunctionCall {
                name, arguments, ..
            } => count_text(name) + count_text(arguments),
            InputItem::FunctionCallOutput { output, .. } => count_parts(&output.parts),
            InputItem::Reasoning { summary, .. } => summary.iter().map(|s| count_text(s)).sum(),
        };
    }
    for tool in &req.tools {
        total += match tool {
            Tool::Function(f) => {
                let schema = f
                    .parameters
                    .as_ref()
                    .map(|p| count_text(&p.to_string()))
                    .unwrap_or(0);
                TOKENS_PER_ITEM
                    + count_text(&f.name)
                    + f.description.as_deref().map(count_text).unwrap_or(0)
                    + schema
            }
            Tool::WebSearch | Tool::ImageGeneration => TOKENS_PER_ITEM,
        };
    }
    total
}

fn count_parts(parts: &[ContentPart]) -> u64 {
    parts
        .iter()
        .map(|part| match part {
            ContentPart::Text(t) => count_text(t),
            ContentPart::Image { .. } | ContentPart::File { .. } => TOKENS_PER_ATTACHMENT,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Role;

    #[test]
    fn o200k_base_counts_known_texts() {
        // Reference values from tiktoken's o200k_base.
        assert_eq!(count_text(""), 0);
        assert_eq!(count_text("hello world"), 2);
        assert_eq!(count_text("Hello, world!"), 4);
        // A special-token spelling is ordinary text here, not one token.
        assert!(count_text("<|endoftext|>") > 1);
    }

    #[test]
    fn a_request_counts_texts_items_and_tools() {
        let mut req = ChatRequest {
            instructions: "Be brief.".into(),
            input: vec![InputItem::Message {
                role: Role::User,
                content: vec![ContentPart::Text("hello world".into())],
            }],
            ..ChatRequest::default()
        };
        let base = count_request(&req);
        assert_eq!(
            base,
            TOKENS_PER_ITEM + count_text("Be brief.") + TOKENS_PER_ITEM + 2
        );
        req.tools.push(Tool::WebSearch);
        assert_eq!(count_request(&req), base + TOKENS_PER_ITEM);
    }
}
