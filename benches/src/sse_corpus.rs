//! A deterministic, realistic upstream Codex Responses event stream for the framing benchmarks.
//!
//! The stream is a run of complete responses shaped per `shared/reference/protocols.md` §1.8 /
//! §1.9: `response.created`, `response.in_progress`, a reasoning item with
//! `response.reasoning_summary_text.delta` events, a message with many
//! `response.output_text.delta` events (most of the stream, as in real traffic), every few
//! responses a function call with `response.function_call_arguments.delta` events, the
//! `output_item.added/done` and `content_part` bookkeeping, and `response.completed` with
//! usage. Every event is `event: <type>\ndata: <compact json>\n\n`. The same events' JSON, one
//! per line, is the NDJSON corpus.
//!
//! The generator is a fixed xorshift sequence, so every run (and every machine) benchmarks the
//! same bytes.

/// The default corpus size used by the framing benchmarks: 10 MiB of SSE.
pub const DEFAULT_BYTES: usize = 10 * 1024 * 1024;

/// The generated corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The SSE bytes (`event:` + `data:` lines, blank line after each event, LF line ends).
    pub sse: Vec<u8>,
    /// The same events' JSON payloads, one per `\n`-terminated line.
    pub ndjson: Vec<u8>,
    /// Number of events in either form.
    pub events: usize,
}

/// Words the text deltas are cut from; a few need JSON escapes or are multi-byte UTF-8.
const WORDS: &[&str] = &[
    "the",
    "function",
    "returns",
    "a",
    "stream",
    "of",
    "events",
    "and",
    "each",
    "delta",
    "is",
    "forwarded",
    "as",
    "soon",
    "as",
    "it",
    "arrives",
    "café",
    "naïve",
    "→",
    "😀",
    "\"quoted\"",
    "line\nbreak",
    "tab\there",
    "back\\slash",
    "`code`",
    "**bold**",
    "résumé",
    "parser",
    "buffer",
    "upstream",
    "client",
    "latency",
    "throughput",
    "token",
    "model",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// Appends `s` as a JSON string literal (quotes included).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Writer {
    corpus: Corpus,
    seq: u64,
}

impl Writer {
    /// Writes one event whose JSON payload is `{"type":<ty>,<body>,"sequence_number":N}`.
    fn event(&mut self, ty: &str, body: &str) {
        let json = format!(
            "{{\"type\":\"{ty}\",{body},\"sequence_number\":{}}}",
            self.seq
        );
        self.seq += 1;
        let c = &mut self.corpus;
        c.sse.extend_from_slice(b"event: ");
        c.sse.extend_from_slice(ty.as_bytes());
        c.sse.extend_from_slice(b"\ndata: ");
        c.sse.extend_from_slice(json.as_bytes());
        c.sse.extend_from_slice(b"\n\n");
        c.ndjson.extend_from_slice(json.as_bytes());
        c.ndjson.push(b'\n');
        c.events += 1;
    }
}

fn words(rng: &mut Rng, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s
}

fn response_object(id: &str, status: &str, usage: &str) -> String {
    format!(
        "\"response\":{{\"id\":\"{id}\",\"object\":\"response\",\"created_at\":1758982136,\
         \"status\":\"{status}\",\"model\":\"gpt-5.1-codex\",\"output\":[],\"usage\":{usage},\
         \"error\":null,\"incomplete_details\":null}}"
    )
}

fn one_response(w: &mut Writer, rng: &mut Rng, n: usize) {
    let resp = format!("resp_{n:08x}");
    let (rs, msg, fc) = (
        format!("rs_{n:08x}"),
        format!("msg_{n:08x}"),
        format!("fc_{n:08x}"),
    );
    w.event(
        "response.created",
        &response_object(&resp, "in_progress", "null"),
    );
    w.event(
        "response.in_progress",
        &response_object(&resp, "in_progress", "null"),
    );

    // Reasoning summary.
    w.event(
        "response.output_item.added",
        &format!("\"output_index\":0,\"item\":{{\"id\":\"{rs}\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAAABo2KHy\"}}"),
    );
    w.event(
        "response.reasoning_summary_part.added",
        &format!("\"item_id\":\"{rs}\",\"output_index\":0,\"summary_index\":0,\"part\":{{\"type\":\"summary_text\",\"text\":\"\"}}"),
    );
    let mut summary = String::new();
    for _ in 0..8 + rng.below(16) {
        let n_words = 1 + rng.below(3);
        let d = words(rng, n_words);
        let mut delta = String::new();
        json_str(&mut delta, &d);
        summary.push_str(&d);
        w.event(
            "response.reasoning_summary_text.delta",
            &format!(
                "\"item_id\":\"{rs}\",\"output_index\":0,\"summary_index\":0,\"delta\":{delta}"
            ),
        );
    }
    let mut summary_json = String::new();
    json_str(&mut summary_json, &summary);
    w.event(
        "response.reasoning_summary_text.done",
        &format!(
            "\"item_id\":\"{rs}\",\"output_index\":0,\"summary_index\":0,\"text\":{summary_json}"
        ),
    );
    w.event(
        "response.output_item.done",
        &format!("\"output_index\":0,\"item\":{{\"id\":\"{rs}\",\"type\":\"reasoning\",\"summary\":[{{\"type\":\"summary_text\",\"text\":{summary_json}}}],\"encrypted_content\":\"gAAAAABo2KHyPRE-final\"}}"),
    );

    // Message text: the bulk of the stream.
    w.event(
        "response.output_item.added",
        &format!("\"output_index\":1,\"item\":{{\"id\":\"{msg}\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"in_progress\",\"content\":[]}}"),
    );
    w.event(
        "response.content_part.added",
        &format!("\"item_id\":\"{msg}\",\"output_index\":1,\"content_index\":0,\"part\":{{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}}"),
    );
    let mut text = String::new();
    for _ in 0..100 + rng.below(200) {
        let n_words = 1 + rng.below(2);
        let d = words(rng, n_words);
        let mut delta = String::new();
        json_str(&mut delta, &format!(" {d}"));
        text.push(' ');
        text.push_str(&d);
        w.event(
            "response.output_text.delta",
            &format!("\"item_id\":\"{msg}\",\"output_index\":1,\"content_index\":0,\"delta\":{delta},\"logprobs\":[],\"obfuscation\":\"q8Xz\""),
        );
    }
    let mut text_json = String::new();
    json_str(&mut text_json, &text);
    w.event(
        "response.output_text.done",
        &format!(
            "\"item_id\":\"{msg}\",\"output_index\":1,\"content_index\":0,\"text\":{text_json}"
        ),
    );
    w.event(
        "response.output_item.done",
        &format!("\"output_index\":1,\"item\":{{\"id\":\"{msg}\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{{\"type\":\"output_text\",\"text\":{text_json},\"annotations\":[]}}]}}"),
    );

    // A tool call every third response.
    if n.is_multiple_of(3) {
        w.event(
            "response.output_item.added",
            &format!("\"output_index\":2,\"item\":{{\"id\":\"{fc}\",\"type\":\"function_call\",\"call_id\":\"call_{n}\",\"name\":\"read_file\",\"arguments\":\"\",\"status\":\"in_progress\"}}"),
        );
        let args = format!(
            "{{\"path\":\"src/{}.rs\",\"start_line\":{},\"end_line\":{}}}",
            words(rng, 1).replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            rng.below(500),
            500 + rng.below(500)
        );
        let mut all = String::new();
        json_str(&mut all, &args);
        let bytes = args.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + 3 + rng.below(6)).min(bytes.len());
            while !args.is_char_boundary(end) {
                end += 1;
            }
            let mut delta = String::new();
            json_str(&mut delta, &args[start..end]);
            w.event(
                "response.function_call_arguments.delta",
                &format!("\"item_id\":\"{fc}\",\"output_index\":2,\"delta\":{delta}"),
            );
            start = end;
        }
        w.event(
            "response.function_call_arguments.done",
            &format!("\"item_id\":\"{fc}\",\"output_index\":2,\"arguments\":{all}"),
        );
        w.event(
            "response.output_item.done",
            &format!("\"output_index\":2,\"item\":{{\"id\":\"{fc}\",\"type\":\"function_call\",\"call_id\":\"call_{n}\",\"name\":\"read_file\",\"arguments\":{all},\"status\":\"completed\"}}"),
        );
    }

    let (input, output) = (1000 + rng.below(9000), 100 + rng.below(900));
    let usage = format!(
        "{{\"input_tokens\":{input},\"input_tokens_details\":{{\"cached_tokens\":0}},\"output_tokens\":{output},\"output_tokens_details\":{{\"reasoning_tokens\":64}},\"total_tokens\":{}}}",
        input + output
    );
    w.event(
        "response.completed",
        &response_object(&resp, "completed", &usage),
    );
}

/// Generates whole responses until the SSE form is at least `target_bytes` long.
pub fn responses_stream(target_bytes: usize) -> Corpus {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut w = Writer {
        corpus: Corpus {
            sse: Vec::with_capacity(target_bytes + 64 * 1024),
            ndjson: Vec::with_capacity(target_bytes),
            events: 0,
        },
        seq: 0,
    };
    let mut n = 0;
    while w.corpus.sse.len() < target_bytes {
        w.seq = 0;
        one_response(&mut w, &mut rng, n);
        n += 1;
    }
    w.corpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_deterministic_sized_and_consistent() {
        let a = responses_stream(256 * 1024);
        let b = responses_stream(256 * 1024);
        assert_eq!(a.sse, b.sse);
        assert!(a.sse.len() >= 256 * 1024);
        assert_eq!(a.ndjson.iter().filter(|&&b| b == b'\n').count(), a.events);
        assert_eq!(a.sse.windows(2).filter(|w| w == b"\n\n").count(), a.events);
        let text = std::str::from_utf8(&a.sse).expect("UTF-8");
        assert!(text.contains("event: response.reasoning_summary_text.delta\n"));
        assert!(text.contains("event: response.function_call_arguments.delta\n"));
        let deltas = text.matches("event: response.output_text.delta\n").count();
        assert!(
            deltas * 2 > a.events,
            "text deltas dominate: {deltas} of {}",
            a.events
        );
    }
}
