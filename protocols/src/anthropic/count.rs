//! `POST /v1/messages/count_tokens`, answered locally: the request as the backend would see it,
//! counted with the o200k_base tokenizer of the GPT-5 family (protocols.md §4b).
//!
//! What is counted, on the canonical request (so exactly what would be sent upstream, after
//! the billing line and foreign thinking blocks were dropped):
//!
//! | part | tokens |
//! |---|---|
//! | `instructions` | its text |
//! | each message | 3 + its text parts + its images |
//! | each tool call / tool result | 3 + name + arguments / 3 + the result's text and images |
//! | each tool definition | 8 + the JSON of `{name, description, parameters}` |
//! | an image | OpenAI's high-detail rule: fit in 2048×2048, shortest side to 768, 170 per 512-px tile + 85; dimensions read from the PNG, GIF or JPEG header of a `data:` URL, else 765 (a 1024×1024 image) |
//! | a file (PDF) | its base64 length / 4 (an estimate: the backend extracts text and page images) |
//! | the reply priming | 3 |
//!
//! Replayed reasoning items count 0: their tokens are not known to the proxy.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::canonical::{ChatRequest, ContentPart, InputItem, Tool};

/// Tokens of an image whose size is unknown (a 1024×1024 image, high detail).
pub const UNKNOWN_IMAGE_TOKENS: u64 = 765;

/// Tokens of `text` under o200k_base ([`crate::tokens::count_text`], the one tokenizer).
pub fn count_text(text: &str) -> u64 {
    crate::tokens::count_text(text)
}

/// The `input_tokens` of `req` (module table).
pub fn count_tokens(req: &ChatRequest) -> u64 {
    let mut total = count_text(&req.instructions) + 3;
    for item in &req.input {
        total += 3;
        total += match item {
            InputItem::Message { content, .. } => content.iter().map(count_part).sum(),
            InputItem::FunctionCall {
                name, arguments, ..
            } => count_text(name) + count_text(arguments),
            InputItem::FunctionCallOutput { output, .. } => {
                output.parts.iter().map(count_part).sum()
            }
            InputItem::Reasoning { .. } => 0,
        };
    }
    for tool in &req.tools {
        total += 8;
        if let Tool::Function(f) = tool {
            let json = serde_json::json!({
                "name": f.name, "description": f.description, "parameters": f.parameters,
            });
            total += count_text(&json.to_string());
        }
    }
    total
}

fn count_part(part: &ContentPart) -> u64 {
    match part {
        ContentPart::Text(text) => count_text(text),
        ContentPart::Image { url, .. } => image_tokens(url),
        ContentPart::File { url, .. } => (url.len() as u64) / 4,
    }
}

/// Tokens of an image by URL (module table).
pub fn image_tokens(url: &str) -> u64 {
    let Some((w, h)) = data_url_bytes(url).and_then(|b| image_size(&b)) else {
        return UNKNOWN_IMAGE_TOKENS;
    };
    let (mut w, mut h) = (f64::from(w.max(1)), f64::from(h.max(1)));
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    let tiles = (w / 512.0).ceil() * (h / 512.0).ceil();
    170 * tiles as u64 + 85
}

fn data_url_bytes(url: &str) -> Option<Vec<u8>> {
    let rest = url.strip_prefix("data:")?;
    let (_, data) = rest.split_once(";base64,")?;
    STANDARD.decode(data.trim()).ok()
}

/// Width and height from a PNG, GIF or JPEG header.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let be16 = |i: usize| {
        Some(u32::from(u16::from_be_bytes(
            b.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    let le16 = |i: usize| {
        Some(u32::from(u16::from_le_bytes(
            b.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                i += 1;
                continue;
            }
            let marker = b[i + 1];
            let len = be16(i + 2)? as usize;
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                return Some((be16(i + 7)?, be16(i + 5)?));
            }
            i += 2 + len;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o200k_counts_known_strings() {
        // o200k_base: "hello world" is 2 tokens, "Hello, world!" 4.
        assert_eq!(count_text("hello world"), 2);
        assert_eq!(count_text("Hello, world!"), 4);
        assert_eq!(count_text(""), 0);
    }

    #[test]
    fn image_sizes_and_tiles() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&1024_u32.to_be_bytes());
        png.extend_from_slice(&512_u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((1024, 512)));
        let url = format!("data:image/png;base64,{}", STANDARD.encode(&png));
        // 1024×512 fits; shortest side 512 < 768 stays: 2×1 tiles.
        assert_eq!(image_tokens(&url), 170 * 2 + 85);
        assert_eq!(
            image_tokens("https://example.invalid/a.png"),
            UNKNOWN_IMAGE_TOKENS
        );
        let gif = b"GIF89a\x10\x00\x20\x00".to_vec();
        assert_eq!(image_size(&gif), Some((16, 32)));
    }
}
