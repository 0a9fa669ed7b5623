//! The egresses of `POST /v1/responses`: the backend's own events go back to the client
//! (clients.md §3.1 "forward the backend's full events unchanged"), with shortened tool names
//! restored; the [`crate::translate::Translator`] around them still reads every event, so
//! commit, in-band errors and the bad-event policy are the same as for every other protocol.
//! The stream does not hold back: like the public API, it forwards `response.created` at once
//! and a failure as the backend's own `response.failed` / `error` event.

use bytes::{BufMut, Bytes, BytesMut};
use codex_pipe_engine::{SseEncoder, SseEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::canonical::{ApiError, ChatEvent, ProtocolError};
use crate::openai_chat::error_type;
use crate::translate::{Egress, Protocol};

use super::names::ToolNameMap;

/// Event types after which the backend sends nothing more.
const TERMINAL: [&[u8]; 4] = [
    b"response.completed",
    b"response.failed",
    b"response.incomplete",
    b"error",
];

/// The type of an upstream event: its `event:` line, else the `"type"` of its data (read
/// without parsing the payload).
fn event_type(event: &SseEvent) -> Option<&[u8]> {
    if let Some(name) = event.event() {
        return Some(name);
    }
    let data = event.data();
    let start = memchr::memmem::find(data, b"\"type\":\"")? + 8;
    let len = memchr::memchr(b'"', &data[start..])?;
    Some(&data[start..start + len])
}

/// `data` with shortened tool names restored; unchanged when none occurs.
fn restore(names: &ToolNameMap, data: Bytes) -> Bytes {
    match names.restore_event(&data) {
        Ok(Some(fixed)) => Bytes::from(fixed),
        Ok(None) => data,
        Err(e) => {
            tracing::warn!(error = %e, "cannot restore tool names in an upstream event; forwarded as is");
            data
        }
    }
}

/// The last `"sequence_number":N` of a payload (read without parsing it).
fn sequence_number(data: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"sequence_number\":";
    let start = memchr::memmem::rfind(data, KEY)? + KEY.len();
    let digits = data[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&data[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

/// `stream:true`: every upstream event forwarded as it arrives, same `event:` line, same
/// `data`. A stream that fails mid-way, or ends without a terminal event, gets one `error`
/// event (`{"type":"error","code","message","param","sequence_number","error":{type,code,
/// message}}`: the public flat form and the Codex nested form at once) and ends.
#[derive(Debug)]
pub struct PassthroughStream {
    tool_names: ToolNameMap,
    staged: BytesMut,
    last_sequence: Option<u64>,
    terminal_forwarded: bool,
}

impl PassthroughStream {
    /// An egress restoring the tool names of `tool_names`.
    pub fn new(tool_names: ToolNameMap) -> Self {
        Self {
            tool_names,
            staged: BytesMut::new(),
            last_sequence: None,
            terminal_forwarded: false,
        }
    }
}

#[derive(Serialize)]
struct InBandError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    code: Option<&'a str>,
    message: &'a str,
    param: Option<&'a str>,
    error: NestedError<'a>,
}

#[derive(Serialize)]
struct NestedError<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
    message: &'a str,
}

impl Egress for PassthroughStream {
    fn protocol(&self) -> Protocol {
        Protocol::OpenAi
    }

    fn is_streaming(&self) -> bool {
        true
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn holds_back(&self) -> bool {
        false
    }

    fn keep_alive(&self) -> Option<&'static [u8]> {
        Some(SseEncoder::KEEP_ALIVE)
    }

    fn upstream_event(&mut self, event: &SseEvent) {
        if let Some(kind) = event_type(event) {
            self.terminal_forwarded |= TERMINAL.contains(&kind);
        }
        if let Some(seq) = sequence_number(event.data()) {
            self.last_sequence = Some(seq);
        }
        let name = event.event().and_then(|e| std::str::from_utf8(e).ok());
        let data = restore(&self.tool_names, event.data_bytes());
        SseEncoder::data(&mut self.staged, name, &data);
    }

    fn write(&mut self, _event: &ChatEvent, _out: &mut BytesMut) -> Result<(), ProtocolError> {
        // The backend's own events carry everything; they leave at `flush`.
        Ok(())
    }

    fn flush(&mut self, committed: bool, out: &mut BytesMut) {
        if committed && !self.staged.is_empty() {
            out.put(self.staged.split());
        }
    }

    fn write_error(&mut self, error: &ApiError, out: &mut BytesMut) {
        self.flush(true, out);
        if self.terminal_forwarded {
            return;
        }
        self.terminal_forwarded = true;
        let code = error.code.as_deref();
        let event = InBandError {
            kind: "error",
            sequence_number: self.last_sequence.map_or(0, |s| s + 1),
            code,
            message: &error.message,
            param: error.param.as_deref(),
            error: NestedError {
                kind: error_type(error.kind),
                code,
                message: &error.message,
            },
        };
        if SseEncoder::json(out, Some("error"), &event).is_err() {
            out.put_slice(b"event: error\ndata: {\"type\":\"error\"}\n\n");
        }
    }
}

#[derive(Deserialize)]
struct ItemDone<'a> {
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(borrow)]
    item: &'a RawValue,
}

#[derive(Deserialize)]
struct Completed<'a> {
    #[serde(borrow)]
    response: &'a RawValue,
}

/// `stream:false` (the public API's default): the final `response` object of
/// `response.completed` / `response.incomplete` is the body, its `output` rebuilt from
/// `response.output_item.done` events when the backend sent it empty (protocols.md §5.6, §7
/// item 12). Only those events are parsed again; deltas are not.
#[derive(Debug)]
pub struct PassthroughCollect {
    tool_names: ToolNameMap,
    items: Vec<(u64, Box<RawValue>)>,
    response: Option<Box<RawValue>>,
}

impl PassthroughCollect {
    /// A fold restoring the tool names of `tool_names`.
    pub fn new(tool_names: ToolNameMap) -> Self {
        Self {
            tool_names,
            items: Vec::new(),
            response: None,
        }
    }

    fn body(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let raw = self.response.take().ok_or_else(|| {
            ProtocolError::Upstream(crate::canonical::UpstreamFailure::premature_close())
        })?;
        let empty_output = |obj: &Map<String, Value>| {
            obj.get("output")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        };
        if self.items.is_empty() {
            return Ok(raw.get().as_bytes().to_vec());
        }
        let mut obj: Map<String, Value> =
            serde_json::from_str(raw.get()).map_err(|source| ProtocolError::MalformedEvent {
                source,
                can_continue: false,
            })?;
        if empty_output(&obj) {
            self.items.sort_by_key(|(index, _)| *index);
            let items = std::mem::take(&mut self.items)
                .into_iter()
                .map(|(_, item)| serde_json::from_str(item.get()).unwrap_or(Value::Null))
                .collect();
            obj.insert("output".into(), Value::Array(items));
        }
        serde_json::to_vec(&obj).map_err(ProtocolError::Serialize)
    }
}

impl Egress for PassthroughCollect {
    fn protocol(&self) -> Protocol {
        Protocol::OpenAi
    }

    fn is_streaming(&self) -> bool {
        false
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn upstream_event(&mut self, event: &SseEvent) {
        let kind = event_type(event);
        let item = kind == Some(b"response.output_item.done");
        let done = matches!(kind, Some(b"response.completed" | b"response.incomplete"));
        if !item && !done {
            return;
        }
        let data = restore(&self.tool_names, event.data_bytes());
        if item {
            if let Ok(d) = serde_json::from_slice::<ItemDone<'_>>(&data) {
                let index = d.output_index.unwrap_or(self.items.len() as u64);
                self.items.push((index, d.item.to_owned()));
            }
        } else if let Ok(c) = serde_json::from_slice::<Completed<'_>>(&data) {
            self.response = Some(c.response.to_owned());
        }
    }

    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if matches!(event, ChatEvent::Finish(_)) {
            out.put_slice(&self.body()?);
        }
        Ok(())
    }

    fn write_error(&mut self, _error: &ApiError, _out: &mut BytesMut) {
        // A fold never commits: its failures are HTTP errors.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_and_sequence_numbers_are_read_without_parsing() {
        let ev = SseEvent::new(
            None,
            Bytes::from_static(br#"{"type":"response.failed","sequence_number":12}"#),
        );
        assert_eq!(event_type(&ev), Some(&b"response.failed"[..]));
        assert_eq!(sequence_number(ev.data()), Some(12));
        let ev = SseEvent::new(Some(b"error"), Bytes::from_static(b"{}"));
        assert_eq!(event_type(&ev), Some(&b"error"[..]));
        assert_eq!(sequence_number(ev.data()), None);
    }
}
