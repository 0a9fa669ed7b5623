//! Upstream Codex Responses event data → canonical [`ChatEvent`]s.

use serde_json::value::RawValue;

use crate::canonical::{
    Block, ChatEvent, FinishReason, JsonText, JsonTextBuf, ProtocolError, ResponseStart,
    UpstreamFailure, Usage,
};

use super::names::ToolNameMap;
use super::wire::{ErrorWire, EventWire, ItemWire, ResponseWire, UsageWire};

/// The stateful reader of one upstream response stream.
///
/// Feed it the `data` payload of every upstream SSE event, in order ([`Self::push`]), then call
/// [`Self::finish`] at end of stream. It dispatches on `data.type` (the `event:` line is not
/// needed, protocols.md §1.7) and keeps the bookkeeping of protocols.md §5.1:
///
/// - `item_id → (block, call_id, name)` from `response.output_item.added`, so that
///   `function_call_arguments.delta` events, keyed by `item_id`, reach the right tool call;
/// - tool arguments are taken from `.done` / `output_item.done` only when no delta came for
///   that call, so they are never sent twice (protocols.md §7 item 5);
/// - text and reasoning summaries are taken from `output_item.done` when no delta came;
/// - an item that only appears in `output_item.done`, or only in `response.completed.output`,
///   is emitted whole; an empty `response.completed.output` is normal (§7 item 12);
/// - `response.completed` → `Usage`, `Finish(Stop | ToolCalls)`; `response.incomplete` →
///   `Finish(Length | ContentFilter)`; `response.failed` and `error` → `Error` with the failure
///   classified and its retry hint parsed.
///
/// Ignored, by design: `response.in_progress`, `response.queued`, `content_part.*`,
/// `output_text.done`, `reasoning_summary_text.done`, annotations, web search and image
/// generation progress, `codex.rate_limits`, a `[DONE]` payload, and any unknown type (the
/// upstream adds event types over time; an unknown one must not break a stream). Events after
/// the terminal event are ignored too.
#[derive(Debug, Default)]
pub struct ResponsesIngress {
    tool_names: ToolNameMap,
    started: bool,
    terminated: bool,
    next_block: u32,
    saw_tool_call: bool,
    items: Vec<ItemState>,
    /// Index into `items` of the item that received the last delta (hot-path cache).
    last: usize,
}

#[derive(Debug)]
struct ItemState {
    item_id: Option<Box<str>>,
    output_index: Option<u32>,
    block: u32,
    kind: ItemKind,
    /// A delta (text, reasoning or arguments) was emitted for this item.
    streamed: bool,
    open: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Text,
    Reasoning,
    Tool,
    /// A hosted web search: a block with no deltas.
    WebSearch,
}

const TERMINAL_TYPES: [&[u8]; 4] = [
    b"\"response.completed\"",
    b"\"response.failed\"",
    b"\"response.incomplete\"",
    b"\"error\"",
];

impl ResponsesIngress {
    /// A reader for one response; `tool_names` restores tool names the encoder shortened.
    pub fn new(tool_names: ToolNameMap) -> Self {
        Self {
            tool_names,
            ..Self::default()
        }
    }

    /// True once a terminal event (`Finish` or `Error`) was emitted.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Reads the `data` payload of one upstream event, appending the resulting events to `out`.
    ///
    /// # Errors
    /// [`ProtocolError::MalformedEvent`] when `data` is not JSON of the event shape. Its
    /// `can_continue` is false when the payload looks like a terminal event (its text contains
    /// `"response.completed"`, `"response.failed"`, `"response.incomplete"` or `"error"`): the
    /// answer cannot be completed then. Otherwise the event is skipped and the state is
    /// unchanged, so the caller may log it and go on.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<ChatEvent>) -> Result<(), ProtocolError> {
        if self.terminated || data == b"[DONE]" {
            return Ok(());
        }
        let event: EventWire<'_> = serde_json::from_slice(data).map_err(|source| {
            let terminal = TERMINAL_TYPES
                .iter()
                .any(|t| memchr::memmem::find(data, t).is_some());
            ProtocolError::MalformedEvent {
                source,
                can_continue: !terminal,
            }
        })?;
        self.dispatch(event, out);
        Ok(())
    }

    /// Ends the stream: when no terminal event came, emits `Error` with
    /// [`crate::canonical::FailureKind::PrematureClose`] (protocols.md §1.7: "stream closed before
    /// response.completed").
    pub fn finish(&mut self, out: &mut Vec<ChatEvent>) {
        if !self.terminated {
            self.ensure_started(out);
            self.fail(UpstreamFailure::premature_close(), out);
        }
    }

    fn dispatch(&mut self, ev: EventWire<'_>, out: &mut Vec<ChatEvent>) {
        match &*ev.kind {
            "response.output_text.delta" => {
                self.delta(&ev, ItemKind::Text, ev.delta, out);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.delta(&ev, ItemKind::Reasoning, ev.delta, out);
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                self.delta(&ev, ItemKind::Tool, ev.delta, out);
            }
            "response.function_call_arguments.done" => {
                self.arguments_done(&ev, ev.arguments, out);
            }
            "response.custom_tool_call_input.done" => {
                self.arguments_done(&ev, ev.input, out);
            }
            "response.reasoning_summary_part.added" => self.summary_part_added(&ev, out),
            "response.output_item.added" => {
                if let Some(item) = &ev.item {
                    self.ensure_started(out);
                    self.item_added(item, ev.output_index, out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &ev.item {
                    self.ensure_started(out);
                    self.item_done(item, ev.output_index, out);
                }
            }
            // A repeated `response.created` (after a synthesized start) is ignored.
            "response.created" if !self.started => {
                self.started = true;
                out.push(ChatEvent::Start(start_of(ev.response.as_ref())));
            }
            "response.completed" | "response.incomplete" => {
                self.ensure_started(out);
                self.complete(ev.response, out);
            }
            "response.failed" => {
                self.ensure_started(out);
                let failure = ev.response.and_then(|r| r.error).map_or_else(
                    || UpstreamFailure::from_upstream(None, None, "response failed", None, None),
                    |e| failure_of(&e),
                );
                self.fail(failure, out);
            }
            "error" => {
                self.ensure_started(out);
                let failure = match ev.error {
                    Some(e) => failure_of(&e),
                    None => UpstreamFailure::from_upstream(
                        ev.code.as_deref(),
                        None,
                        ev.message.as_deref().unwrap_or("upstream error"),
                        None,
                        None,
                    ),
                };
                self.fail(failure, out);
            }
            _ => {}
        }
    }

    fn ensure_started(&mut self, out: &mut Vec<ChatEvent>) {
        if !self.started {
            self.started = true;
            out.push(ChatEvent::Start(ResponseStart::default()));
        }
    }

    fn find(&self, item_id: Option<&str>, output_index: Option<u32>) -> Option<usize> {
        if let Some(state) = self.items.get(self.last) {
            if state.matches(item_id, output_index) {
                return Some(self.last);
            }
        }
        self.items
            .iter()
            .rposition(|s| s.matches(item_id, output_index))
    }

    fn open_block(
        &mut self,
        item_id: Option<&str>,
        output_index: Option<u32>,
        kind: ItemKind,
        block: Block,
        out: &mut Vec<ChatEvent>,
    ) -> usize {
        let index = self.next_block;
        self.next_block += 1;
        if kind == ItemKind::Tool {
            self.saw_tool_call = true;
        }
        out.push(ChatEvent::BlockStart { index, block });
        self.items.push(ItemState {
            item_id: item_id.map(Box::from),
            output_index,
            block: index,
            kind,
            streamed: false,
            open: true,
        });
        self.items.len() - 1
    }

    fn tool_block(&self, item: &ItemWire<'_>) -> Block {
        let call_id = item
            .call_id
            .as_deref()
            .or(item.id.as_deref())
            .unwrap_or_default();
        let name = item.name.as_deref().unwrap_or_default();
        Block::ToolCall {
            call_id: Box::from(call_id),
            name: Box::from(self.tool_names.original(name)),
        }
    }

    fn item_added(
        &mut self,
        item: &ItemWire<'_>,
        output_index: Option<u32>,
        out: &mut Vec<ChatEvent>,
    ) {
        let id = item.id.as_deref();
        if self.find(id, output_index).is_some() {
            return;
        }
        let (kind, block) = match &*item.kind {
            "message" => (ItemKind::Text, Block::Text),
            "reasoning" => (ItemKind::Reasoning, Block::Reasoning),
            "function_call" | "custom_tool_call" => (ItemKind::Tool, self.tool_block(item)),
            _ => return,
        };
        self.open_block(id, output_index, kind, block, out);
    }

    fn delta(
        &mut self,
        ev: &EventWire<'_>,
        kind: ItemKind,
        delta: Option<&RawValue>,
        out: &mut Vec<ChatEvent>,
    ) {
        let Some(text) = delta.and_then(JsonText::from_raw) else {
            return;
        };
        let pos = match self.find(ev.item_id.as_deref(), ev.output_index) {
            Some(pos) => pos,
            // A tool delta before its `output_item.added` has no call id or name: it is
            // dropped, and the call is emitted whole from its `output_item.done`.
            None if kind == ItemKind::Tool => return,
            None => {
                self.ensure_started(out);
                let block = if kind == ItemKind::Text {
                    Block::Text
                } else {
                    Block::Reasoning
                };
                self.open_block(ev.item_id.as_deref(), ev.output_index, kind, block, out)
            }
        };
        self.last = pos;
        let state = &mut self.items[pos];
        if !state.open || state.kind != kind || text.is_empty() {
            return;
        }
        state.streamed = true;
        let index = state.block;
        out.push(match kind {
            ItemKind::Text => ChatEvent::TextDelta { index, text },
            ItemKind::Reasoning => ChatEvent::ReasoningDelta { index, text },
            // Web search items take no deltas: `kind` is never `WebSearch` here.
            ItemKind::Tool | ItemKind::WebSearch => ChatEvent::ToolArgumentsDelta {
                index,
                arguments: text,
            },
        });
    }

    fn arguments_done(
        &mut self,
        ev: &EventWire<'_>,
        args: Option<&RawValue>,
        out: &mut Vec<ChatEvent>,
    ) {
        let Some(pos) = self.find(ev.item_id.as_deref(), ev.output_index) else {
            return;
        };
        let state = &mut self.items[pos];
        if state.kind != ItemKind::Tool || state.streamed || !state.open {
            return;
        }
        if let Some(arguments) = args.and_then(JsonText::from_raw).filter(|a| !a.is_empty()) {
            state.streamed = true;
            out.push(ChatEvent::ToolArgumentsDelta {
                index: state.block,
                arguments,
            });
        }
    }

    fn summary_part_added(&mut self, ev: &EventWire<'_>, out: &mut Vec<ChatEvent>) {
        let Some(pos) = self.find(ev.item_id.as_deref(), ev.output_index) else {
            return;
        };
        let state = &self.items[pos];
        // A new summary paragraph after text was streamed: separate it from the previous one.
        if state.kind == ItemKind::Reasoning && state.open && state.streamed {
            out.push(ChatEvent::ReasoningDelta {
                index: state.block,
                text: JsonText::new("\n\n"),
            });
        }
    }

    fn item_done(
        &mut self,
        item: &ItemWire<'_>,
        output_index: Option<u32>,
        out: &mut Vec<ChatEvent>,
    ) {
        let id = item.id.as_deref();
        let pos = match self.find(id, output_index) {
            Some(pos) => pos,
            None => {
                let (kind, block) = match &*item.kind {
                    "message" => (ItemKind::Text, Block::Text),
                    "reasoning" => (ItemKind::Reasoning, Block::Reasoning),
                    "function_call" | "custom_tool_call" => (ItemKind::Tool, self.tool_block(item)),
                    "web_search_call" => (
                        ItemKind::WebSearch,
                        Block::WebSearch {
                            id: Box::from(id.unwrap_or_default()),
                            query: Box::from(
                                item.action
                                    .as_ref()
                                    .and_then(|a| a.query.as_deref())
                                    .unwrap_or_default(),
                            ),
                        },
                    ),
                    _ => return,
                };
                self.open_block(id, output_index, kind, block, out)
            }
        };
        let state = &mut self.items[pos];
        if !state.open {
            return;
        }
        let index = state.block;
        if !state.streamed {
            let fallback = match state.kind {
                ItemKind::Text => joined(item.content.iter().flatten(), "output_text", "")
                    .map(|text| ChatEvent::TextDelta { index, text }),
                ItemKind::Reasoning => {
                    joined(item.summary.iter().flatten(), "summary_text", "\n\n")
                        .or_else(|| joined(item.content.iter().flatten(), "reasoning_text", ""))
                        .map(|text| ChatEvent::ReasoningDelta { index, text })
                }
                ItemKind::Tool => item
                    .arguments
                    .or(item.input)
                    .and_then(JsonText::from_raw)
                    .filter(|a| !a.is_empty())
                    .map(|arguments| ChatEvent::ToolArgumentsDelta { index, arguments }),
                ItemKind::WebSearch => None,
            };
            if let Some(event) = fallback {
                state.streamed = true;
                out.push(event);
            }
        }
        state.open = false;
        let encrypted_content = if state.kind == ItemKind::Reasoning {
            item.encrypted_content.and_then(JsonText::from_raw)
        } else {
            None
        };
        out.push(ChatEvent::BlockStop {
            index,
            encrypted_content,
        });
    }

    fn complete(&mut self, response: Option<ResponseWire<'_>>, out: &mut Vec<ChatEvent>) {
        let mut reason = None;
        let mut usage = None;
        if let Some(resp) = response {
            // Items never announced by `output_item.done` (protocols.md §1.9 C, §5.6).
            for (i, item) in resp.output.iter().flatten().enumerate() {
                let output_index = u32::try_from(i).ok();
                self.item_done(item, output_index, out);
            }
            usage = resp.usage.as_ref().map(usage_of);
            if let Some(details) = resp.incomplete_details {
                reason = Some(match details.reason.as_deref() {
                    Some("content_filter") => FinishReason::ContentFilter,
                    _ => FinishReason::Length,
                });
            }
        }
        self.close_open_blocks(out);
        if let Some(usage) = usage {
            out.push(ChatEvent::Usage(usage));
        }
        let reason = reason.unwrap_or(if self.saw_tool_call {
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        });
        out.push(ChatEvent::Finish(reason));
        self.terminated = true;
    }

    fn close_open_blocks(&mut self, out: &mut Vec<ChatEvent>) {
        let mut open: Vec<&mut ItemState> = self.items.iter_mut().filter(|s| s.open).collect();
        open.sort_by_key(|s| s.block);
        for state in open {
            state.open = false;
            out.push(ChatEvent::BlockStop {
                index: state.block,
                encrypted_content: None,
            });
        }
    }

    fn fail(&mut self, failure: UpstreamFailure, out: &mut Vec<ChatEvent>) {
        out.push(ChatEvent::Error(failure));
        self.terminated = true;
    }
}

impl ItemState {
    fn matches(&self, item_id: Option<&str>, output_index: Option<u32>) -> bool {
        match (item_id, self.item_id.as_deref()) {
            (Some(a), Some(b)) => a == b,
            _ => output_index.is_some() && output_index == self.output_index,
        }
    }
}

fn start_of(response: Option<&ResponseWire<'_>>) -> ResponseStart {
    let Some(r) = response else {
        return ResponseStart::default();
    };
    ResponseStart {
        id: Box::from(r.id.as_deref().unwrap_or_default()),
        model: Box::from(r.model.as_deref().unwrap_or_default()),
        created: r.created_at.unwrap_or_default(),
    }
}

fn usage_of(u: &UsageWire) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        cached_input_tokens: u
            .input_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or_default(),
        output_tokens: u.output_tokens,
        reasoning_output_tokens: u
            .output_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or_default(),
        total_tokens: u
            .total_tokens
            .unwrap_or(u.input_tokens.saturating_add(u.output_tokens)),
    }
}

fn failure_of(e: &ErrorWire<'_>) -> UpstreamFailure {
    UpstreamFailure::from_upstream(
        e.code.as_deref(),
        e.kind.as_deref(),
        e.message.as_deref().unwrap_or("upstream error"),
        e.resets_in_seconds,
        e.resets_at,
    )
}

/// Joins the `text` of parts of type `kind` with `sep`; `None` when the result is empty.
fn joined<'p, 'a: 'p>(
    parts: impl Iterator<Item = &'p super::wire::PartWire<'a>>,
    kind: &str,
    sep: &str,
) -> Option<JsonText> {
    let mut buf = JsonTextBuf::new();
    let mut first = true;
    for part in parts.filter(|p| p.kind == kind) {
        let Some(text) = part.text.and_then(JsonText::from_raw) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        if !first {
            buf.push_str(sep);
        }
        first = false;
        buf.push(&text);
    }
    (!buf.is_empty()).then(|| buf.finish())
}
