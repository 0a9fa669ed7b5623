//! The event scripts of the simulated `/codex/responses` endpoint: one function per scenario,
//! each writing the SSE frames of protocols.md §1.8–1.9 in the shapes of
//! `testdata/responses/*.sse` (`event:` line, `data:` with `type` and a monotonic
//! `sequence_number`, full `response` objects on lifecycle events, `obfuscation` noise on deltas).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Map, Value};

/// The answer of the default `sim:text` scenario, streamed one word per delta. It has quotes,
/// non-ASCII text and an emoji, so a client sees JSON escapes and multi-byte UTF-8.
pub const SIM_TEXT: &str =
    "Hello from the codex-pipe simulator: \"quotes\", ünïcode ✓ and a crab 🦀.";

/// `created_at` of every simulated response (deterministic output).
const CREATED_AT: u64 = 1_758_982_136;

/// What a script needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Response number within this simulator, used in ids.
    pub n: u64,
    pub model: Value,
    pub instructions: Value,
    pub tools: Value,
    pub tool_choice: Value,
    pub parallel_tool_calls: Value,
    pub reasoning: Value,
    /// Rough prompt size, in tokens (request bytes / 4).
    pub input_tokens: u64,
    /// Per-simulator random number, so `encrypted_content` cannot be guessed.
    pub secret: u64,
}

/// Frames under construction.
pub(crate) struct Script {
    ctx: Ctx,
    seq: u64,
    out: BytesMut,
    frames: Vec<Bytes>,
    /// `(frame index, silence before it)`.
    pauses: Vec<(usize, Duration)>,
    /// Every reasoning `encrypted_content` this script issued.
    issued: Vec<String>,
}

impl Script {
    pub fn new(ctx: Ctx) -> Self {
        Script {
            ctx,
            seq: 0,
            out: BytesMut::new(),
            frames: Vec::new(),
            pauses: Vec::new(),
            issued: Vec::new(),
        }
    }

    /// The silences: before frame `index`, wait `duration` (`sim:silent_reasoning`).
    pub fn pauses(&self) -> &[(usize, Duration)] {
        &self.pauses
    }

    /// The reasoning `encrypted_content` values issued, which the simulator accepts back.
    pub fn issued(&self) -> &[String] {
        &self.issued
    }

    /// The frames written so far, one `Bytes` per event.
    pub fn finish(self) -> Vec<Bytes> {
        self.frames
    }

    pub fn id(&self, prefix: &str, output_index: u32) -> String {
        format!("{prefix}_sim{:06}_{output_index}", self.ctx.n)
    }

    fn emit(&mut self, kind: &str, fields: Value) {
        let mut data = Map::new();
        data.insert("type".into(), kind.into());
        data.insert("sequence_number".into(), self.seq.into());
        if let Value::Object(fields) = fields {
            data.extend(fields);
        }
        self.seq += 1;
        self.out.put_slice(b"event: ");
        self.out.put_slice(kind.as_bytes());
        self.out.put_slice(b"\ndata: ");
        let text = serde_json::to_vec(&Value::Object(data)).unwrap_or_default();
        self.out.put_slice(&text);
        self.out.put_slice(b"\n\n");
        self.frames.push(self.out.split().freeze());
    }

    /// A full `response` object (protocols.md §1.8).
    pub fn response(
        &self,
        status: &str,
        output: Vec<Value>,
        usage: Value,
        error: Value,
        incomplete: Value,
    ) -> Value {
        json!({
            "id": format!("resp_sim{:06}", self.ctx.n),
            "object": "response",
            "created_at": CREATED_AT,
            "status": status,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": self.ctx.instructions,
            "model": self.ctx.model,
            "output": output,
            "parallel_tool_calls": self.ctx.parallel_tool_calls,
            "reasoning": self.ctx.reasoning,
            "store": false,
            "tool_choice": self.ctx.tool_choice,
            "tools": self.ctx.tools,
            "usage": usage,
        })
    }

    /// `response.created` and `response.in_progress`.
    pub fn start(&mut self) {
        for kind in ["response.created", "response.in_progress"] {
            let response =
                self.response("in_progress", vec![], Value::Null, Value::Null, Value::Null);
            self.emit(kind, json!({ "response": response }));
        }
    }

    /// Usage with `output_tokens` for `output_chars` characters of answer.
    pub fn usage(&self, output_chars: usize, reasoning_tokens: u64) -> Value {
        let output = (output_chars as u64) / 4 + 1 + reasoning_tokens;
        json!({
            "input_tokens": self.ctx.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": self.ctx.input_tokens + output,
        })
    }

    /// A message item streamed as `pieces`; returns the done item. With `finish` false the
    /// item is left open (no `.done` events), as in a cut-off answer.
    pub fn message(&mut self, output_index: u32, pieces: &[&str], finish: bool) -> Value {
        let id = self.id("msg", output_index);
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": {
                "id": id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}),
        );
        self.emit(
            "response.content_part.added",
            json!({"item_id": id, "output_index": output_index, "content_index": 0,
                   "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
        );
        for (i, piece) in pieces.iter().enumerate() {
            self.emit(
                "response.output_text.delta",
                json!({"item_id": id, "output_index": output_index, "content_index": 0,
                       "delta": piece, "logprobs": [], "obfuscation": "x".repeat(i % 4 + 1)}),
            );
        }
        let text: String = pieces.concat();
        let part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text});
        let item = json!({"id": id, "type": "message", "status": "completed",
                          "content": [part], "role": "assistant"});
        if finish {
            self.emit(
                "response.output_text.done",
                json!({"item_id": id, "output_index": output_index, "content_index": 0,
                       "text": text, "logprobs": []}),
            );
            self.emit(
                "response.content_part.done",
                json!({"item_id": id, "output_index": output_index, "content_index": 0, "part": part}),
            );
            self.emit(
                "response.output_item.done",
                json!({"output_index": output_index, "item": item}),
            );
        }
        item
    }

    /// A reasoning item with one summary part per entry of `parts`; returns the done item.
    pub fn reasoning(&mut self, output_index: u32, parts: &[&[&str]]) -> Value {
        self.reasoning_with_silence(output_index, Duration::ZERO, parts)
    }

    /// A reasoning item whose summary starts only after `silence` without any event (a long
    /// reasoning phase); returns the done item. Its `encrypted_content` is recorded
    /// ([`Self::issued`]).
    pub fn reasoning_with_silence(
        &mut self,
        output_index: u32,
        silence: Duration,
        parts: &[&[&str]],
    ) -> Value {
        let id = self.id("rs", output_index);
        let encrypted = format!(
            "gAAAAsim{:06}_{output_index}_{:016x}",
            self.ctx.n, self.ctx.secret
        );
        self.issued.push(encrypted.clone());
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": {
                "id": id, "type": "reasoning", "encrypted_content": encrypted, "summary": []}}),
        );
        if !silence.is_zero() {
            self.pauses.push((self.frames.len(), silence));
        }
        let mut summary = Vec::new();
        for (index, pieces) in parts.iter().enumerate() {
            self.emit(
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": output_index, "summary_index": index,
                       "part": {"type": "summary_text", "text": ""}}),
            );
            for piece in *pieces {
                self.emit(
                    "response.reasoning_summary_text.delta",
                    json!({"item_id": id, "output_index": output_index, "summary_index": index,
                           "delta": piece, "obfuscation": "yy"}),
                );
            }
            let text: String = pieces.concat();
            self.emit(
                "response.reasoning_summary_text.done",
                json!({"item_id": id, "output_index": output_index, "summary_index": index, "text": text}),
            );
            let part = json!({"type": "summary_text", "text": text});
            self.emit(
                "response.reasoning_summary_part.done",
                json!({"item_id": id, "output_index": output_index, "summary_index": index, "part": part}),
            );
            summary.push(part);
        }
        let item = json!({"id": id, "type": "reasoning", "encrypted_content": encrypted, "summary": summary});
        self.emit(
            "response.output_item.done",
            json!({"output_index": output_index, "item": item}),
        );
        item
    }

    /// A `web_search_call` item searching `query`: added, `in_progress`, `searching`,
    /// `completed`, done with `action:{type:"search",query}`; returns the done item.
    pub fn web_search(&mut self, output_index: u32, query: &str) -> Value {
        let id = self.id("ws", output_index);
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": {"id": id, "type": "web_search_call", "status": "in_progress"}}),
        );
        for kind in [
            "response.web_search_call.in_progress",
            "response.web_search_call.searching",
            "response.web_search_call.completed",
        ] {
            self.emit(kind, json!({"item_id": id, "output_index": output_index}));
        }
        let item = json!({"id": id, "type": "web_search_call", "status": "completed",
                          "action": {"type": "search", "query": query}});
        self.emit(
            "response.output_item.done",
            json!({"output_index": output_index, "item": item}),
        );
        item
    }

    /// `output_item.added` of a function call; returns its item id.
    pub fn call_added(&mut self, output_index: u32, name: &str) -> String {
        let id = self.id("fc", output_index);
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": {
                "id": id, "type": "function_call", "status": "in_progress", "arguments": "",
                "call_id": self.id("call", output_index), "name": name}}),
        );
        id
    }

    /// One `function_call_arguments.delta`.
    pub fn call_delta(&mut self, output_index: u32, delta: &str) {
        let id = self.id("fc", output_index);
        self.emit(
            "response.function_call_arguments.delta",
            json!({"item_id": id, "output_index": output_index, "delta": delta, "obfuscation": "zz"}),
        );
    }

    /// `function_call_arguments.done` and `output_item.done`; returns the done item.
    pub fn call_done(&mut self, output_index: u32, name: &str, arguments: &str) -> Value {
        let id = self.id("fc", output_index);
        self.emit(
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": output_index, "arguments": arguments}),
        );
        let item = json!({"id": id, "type": "function_call", "status": "completed",
                          "arguments": arguments, "call_id": self.id("call", output_index), "name": name});
        self.emit(
            "response.output_item.done",
            json!({"output_index": output_index, "item": item}),
        );
        item
    }

    /// `response.completed`.
    pub fn completed(&mut self, output: Vec<Value>, usage: Value) {
        let response = self.response("completed", output, usage, Value::Null, Value::Null);
        self.emit("response.completed", json!({ "response": response }));
    }

    /// `response.incomplete` with `reason`.
    pub fn incomplete(&mut self, output: Vec<Value>, usage: Value, reason: &str) {
        let response = self.response(
            "incomplete",
            output,
            usage,
            Value::Null,
            json!({ "reason": reason }),
        );
        self.emit("response.incomplete", json!({ "response": response }));
    }

    /// `response.failed` with `error:{code,message}`.
    pub fn failed(&mut self, code: &str, message: &str) {
        let error = json!({"code": code, "message": message});
        let response = self.response("failed", vec![], Value::Null, error, Value::Null);
        self.emit("response.failed", json!({ "response": response }));
    }

    /// An in-stream `error` event (Codex form: `error:{type,code,message}`).
    pub fn error(&mut self, kind: &str, code: &str, message: &str) {
        self.emit(
            "error",
            json!({"error": {"type": kind, "code": code, "message": message}}),
        );
    }
}

/// `text` cut into deltas: one word (with its trailing space) per delta.
pub fn words(text: &str) -> Vec<&str> {
    text.split_inclusive(' ').collect()
}

/// `text` cut into deltas of about `size` bytes, at character boundaries.
pub fn chunks(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = size.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

/// A value that fits `schema` (a JSON Schema subset: object, array, string with `enum`,
/// number, integer, boolean, null, `anyOf`/`oneOf`, `const`). `variant` picks between
/// sample strings so that parallel calls get different arguments.
pub fn sample(schema: &Value, variant: usize) -> Value {
    const CITIES: [&str; 3] = ["Paris", "London", "Tokyo"];
    if let Some(v) = schema.get("const") {
        return v.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return sample(first, variant);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), sample(prop, variant));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = schema
                .get("items")
                .cloned()
                .unwrap_or(json!({"type": "string"}));
            Value::Array(vec![sample(&item, variant)])
        }
        "integer" => json!(1 + variant),
        "number" => json!(1.5 + variant as f64),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => Value::String(CITIES[variant % CITIES.len()].to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_char_boundaries() {
        let text = "aé🦀b".repeat(10);
        let parts = chunks(&text, 3);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| !p.is_empty()));
    }

    #[test]
    fn sample_fits_simple_schemas() {
        let schema = json!({"type":"object","properties":{
            "city":{"type":"string"},"days":{"type":"integer"},"unit":{"enum":["c","f"]},
            "tags":{"type":"array","items":{"type":"string"}},"opt":{"type":["null","boolean"]}}});
        assert_eq!(
            sample(&schema, 1),
            json!({"city":"London","days":2,"unit":"c","tags":["London"],"opt":true})
        );
    }

    #[test]
    fn frames_carry_type_and_sequence() {
        let ctx = Ctx {
            n: 7,
            model: json!("gpt-5.4"),
            instructions: json!(""),
            tools: json!([]),
            tool_choice: json!("auto"),
            parallel_tool_calls: json!(false),
            reasoning: Value::Null,
            input_tokens: 3,
            secret: 9,
        };
        let mut s = Script::new(ctx);
        s.start();
        let item = s.message(0, &["a", "b"], true);
        let usage = s.usage(2, 0);
        s.completed(vec![item], usage);
        let frames = s.finish();
        assert_eq!(frames.len(), 10);
        for (i, f) in frames.iter().enumerate() {
            let text = std::str::from_utf8(f).expect("utf-8");
            assert!(
                text.starts_with("event: ") && text.ends_with("\n\n"),
                "{text}"
            );
            let data = text
                .split_once("\ndata: ")
                .map(|(_, d)| d.trim_end())
                .expect("data");
            let v: Value = serde_json::from_str(data).expect("json");
            assert_eq!(v["sequence_number"], json!(i));
        }
    }
}
