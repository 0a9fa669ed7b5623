//! Every protocol's request parser on arbitrary bytes: Chat Completions, Anthropic Messages,
//! Gemini, Ollama chat and generate, the Responses and compact fix-ups, the transcription
//! fields. None may panic; a request that parses must also encode for the backend (or fail
//! with a typed error) and be countable by the local tokenizer.
#![no_main]

use codex_pipe_protocols::anthropic::SignatureKey;
use codex_pipe_protocols::responses::{
    encode_request, fixup_compact_request, fixup_responses_request,
};
use codex_pipe_protocols::whisper::TranscriptionFields;
use codex_pipe_protocols::{anthropic, gemini, ollama, openai_chat, tokens, ChatRequest};
use libfuzzer_sys::fuzz_target;

fn downstream(req: &ChatRequest) {
    let _ = encode_request(req);
    let _ = tokens::count_request(req);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = openai_chat::parse_request(data) {
        downstream(&parsed.request);
    }
    let key = SignatureKey::new(b"fuzz");
    if let Ok(parsed) = anthropic::parse_request(data, &key) {
        downstream(&parsed.request);
        let _ = anthropic::count_tokens(&parsed.request);
    }
    if let Ok(req) = gemini::parse_request(data, "gemini-2.5-pro") {
        downstream(&req);
    }
    for parse in [ollama::parse_chat, ollama::parse_generate] {
        if let Ok(parsed) = parse(data) {
            downstream(&parsed.request);
        }
    }
    let _ = fixup_responses_request(data);
    let _ = fixup_compact_request(data);
    // Transcription form fields: `name NUL value`.
    if let Some(pos) = data.iter().position(|&b| b == 0) {
        if let (Ok(name), Ok(value)) = (
            std::str::from_utf8(&data[..pos]),
            std::str::from_utf8(&data[pos + 1..]),
        ) {
            let _ = TranscriptionFields::default().apply(name, value);
        }
    }
});
