//! Arbitrary upstream event sequences (one `data` payload per line) through the translator with
//! every protocol's egress, streamed and folded: nothing may panic, and every streamed Chat
//! `data:` payload is JSON or `[DONE]`.
#![no_main]

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{SseEvent, Transcoder};
use codex_pipe_protocols::anthropic::{
    MessagesAggregator, MessagesConfig, MessagesStreamEgress, SignatureKey,
};
use codex_pipe_protocols::gemini::{Framing, GeminiAggregator, GeminiConfig, GeminiStreamEgress};
use codex_pipe_protocols::ollama::{Endpoint, OllamaAggregator, OllamaConfig, OllamaStreamEgress};
use codex_pipe_protocols::openai_chat::{
    ChatCompletionAggregator, ChatStreamConfig, ChatStreamEgress,
};
use codex_pipe_protocols::responses::{PassthroughCollect, PassthroughStream, ToolNameMap};
use codex_pipe_protocols::{Egress, Translator};
use libfuzzer_sys::fuzz_target;

fn run<E: Egress>(lines: &[&[u8]], egress: E) -> BytesMut {
    let mut t = Translator::new(ToolNameMap::default(), egress);
    let mut out = BytesMut::new();
    for line in lines {
        let event = SseEvent::new(None, Bytes::copy_from_slice(line));
        if t.on_frame(event, &mut out).is_err() {
            return out;
        }
    }
    let _ = t.finish(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let chat = ChatStreamConfig {
        id: "chatcmpl-f".into(),
        created: 1,
        model: "m".into(),
        include_usage: true,
    };
    let out = run(&lines, ChatStreamEgress::new(chat.clone()));
    for block in out[..]
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"data: "))
    {
        let payload = &block[6..];
        assert!(
            payload == b"[DONE]" || serde_json::from_slice::<serde_json::Value>(payload).is_ok(),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
    run(&lines, ChatCompletionAggregator::new(chat));
    let messages = MessagesConfig {
        id: "msg_f".into(),
        model: "m".into(),
        signatures: SignatureKey::new(b"fuzz"),
    };
    run(&lines, MessagesStreamEgress::new(messages.clone()));
    run(&lines, MessagesAggregator::new(messages));
    let gemini = GeminiConfig { model: "m".into() };
    run(
        &lines,
        GeminiStreamEgress::new(gemini.clone(), Framing::Sse),
    );
    run(
        &lines,
        GeminiStreamEgress::new(gemini.clone(), Framing::JsonArray),
    );
    run(&lines, GeminiAggregator::new(gemini));
    let ollama = OllamaConfig {
        endpoint: Endpoint::Chat,
        model: "m".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        think: true,
        started: None,
    };
    run(&lines, OllamaStreamEgress::new(ollama.clone()));
    run(&lines, OllamaAggregator::new(ollama));
    run(&lines, PassthroughStream::new(ToolNameMap::default()));
    run(&lines, PassthroughCollect::new(ToolNameMap::default()));
});
