#!/usr/bin/env python3
"""Writes the SSE golden fixtures of this directory (see README.md).

Each fixture is a list of (event type, JSON payload) pairs shaped like the upstream Codex
Responses stream (shared/reference/protocols.md §1.8, §1.9). The script serializes them to
`<name>.sse` and writes what a WHATWG-conforming parser must dispatch to
`<name>.expected.ndjson`: one {"event","data","id","retry"} object per event. The expected file
comes from the event list, not from any parser, so it is an independent oracle.

Run from anywhere: python3 testdata/sse/generate.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CREATED_AT = 1758982136
MODEL = "gpt-5.1-codex"


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def response(status, output, usage=None, error=None):
    return {"id": "resp_68d8a1f2", "object": "response", "created_at": CREATED_AT,
            "status": status, "model": MODEL, "output": output, "usage": usage,
            "error": error, "incomplete_details": None}


class Stream:
    def __init__(self):
        self.events = []
        self.seq = 0

    def add(self, payload):
        payload = dict(payload)
        payload["sequence_number"] = self.seq
        self.seq += 1
        self.events.append((payload["type"], payload))


def head(s):
    s.add({"type": "response.created", "response": response("in_progress", [])})
    s.add({"type": "response.in_progress", "response": response("in_progress", [])})


def message(s, oi, item_id, pieces):
    text = "".join(pieces)
    s.add({"type": "response.output_item.added", "output_index": oi,
           "item": {"id": item_id, "type": "message", "role": "assistant",
                    "status": "in_progress", "content": []}})
    s.add({"type": "response.content_part.added", "item_id": item_id, "output_index": oi,
           "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})
    for p in pieces:
        s.add({"type": "response.output_text.delta", "item_id": item_id, "output_index": oi,
               "content_index": 0, "delta": p, "logprobs": [], "obfuscation": "xQ2"})
    s.add({"type": "response.output_text.done", "item_id": item_id, "output_index": oi,
           "content_index": 0, "text": text})
    part = {"type": "output_text", "text": text, "annotations": []}
    s.add({"type": "response.content_part.done", "item_id": item_id, "output_index": oi,
           "content_index": 0, "part": part})
    item = {"id": item_id, "type": "message", "role": "assistant", "status": "completed",
            "content": [part]}
    s.add({"type": "response.output_item.done", "output_index": oi, "item": item})
    return item


def reasoning(s, oi, item_id, paragraphs):
    s.add({"type": "response.output_item.added", "output_index": oi,
           "item": {"id": item_id, "type": "reasoning", "summary": [],
                    "encrypted_content": "gAAAAABo2KHyPRE"}})
    summary = []
    for si, pieces in enumerate(paragraphs):
        text = "".join(pieces)
        s.add({"type": "response.reasoning_summary_part.added", "item_id": item_id,
               "output_index": oi, "summary_index": si,
               "part": {"type": "summary_text", "text": ""}})
        for p in pieces:
            s.add({"type": "response.reasoning_summary_text.delta", "item_id": item_id,
                   "output_index": oi, "summary_index": si, "delta": p})
        s.add({"type": "response.reasoning_summary_text.done", "item_id": item_id,
               "output_index": oi, "summary_index": si, "text": text})
        s.add({"type": "response.reasoning_summary_part.done", "item_id": item_id,
               "output_index": oi, "summary_index": si,
               "part": {"type": "summary_text", "text": text}})
        summary.append({"type": "summary_text", "text": text})
    item = {"id": item_id, "type": "reasoning", "summary": summary,
            "encrypted_content": "gAAAAABo2KHyPRE-final-9f8e7d6c5b4a"}
    s.add({"type": "response.output_item.done", "output_index": oi, "item": item})
    return item


def function_call(s, oi, item_id, call_id, name, pieces):
    args = "".join(pieces)
    s.add({"type": "response.output_item.added", "output_index": oi,
           "item": {"id": item_id, "type": "function_call", "call_id": call_id, "name": name,
                    "arguments": "", "status": "in_progress"}})
    for p in pieces:
        s.add({"type": "response.function_call_arguments.delta", "item_id": item_id,
               "output_index": oi, "delta": p})
    s.add({"type": "response.function_call_arguments.done", "item_id": item_id,
           "output_index": oi, "arguments": args})
    item = {"id": item_id, "type": "function_call", "call_id": call_id, "name": name,
            "arguments": args, "status": "completed"}
    s.add({"type": "response.output_item.done", "output_index": oi, "item": item})
    return item


def completed(s, output, inp, out, reasoning_tokens=0):
    usage = {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": out, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
             "total_tokens": inp + out}
    s.add({"type": "response.completed", "response": response("completed", output, usage)})


def text_deltas():
    s = Stream()
    head(s)
    item = message(s, 0, "msg_68d8a1f3", ["Hel", "lo", "!", " How", " can", " I", " help",
                                          " you", " today", "? ", "Here is ", "a ", "caf\u00e9 ",
                                          "\u2615 and a line\nbreak."])
    completed(s, [item], 12, 14)
    return s.events


def with_reasoning():
    s = Stream()
    head(s)
    r = reasoning(s, 0, "rs_68d8a1f4", [["**Plan", "ning**\n\n", "The user wants ", "a haiku."],
                                        ["**Draft", "ing**\n\n", "Five, seven, five."]])
    m = message(s, 1, "msg_68d8a1f5", ["Autumn ", "moonlight\u2014\n", "a worm digs ",
                                       "silently\n", "into the chestnut."])
    completed(s, [r, m], 31, 88, reasoning_tokens=64)
    return s.events


def tool_call():
    s = Stream()
    head(s)
    f = function_call(s, 0, "fc_68d8a1f6", "call_Xq1Z9", "get_weather",
                      ["{\"", "city", "\":\"", "Par", "is", "\",\"unit\":", "\"c\"}"])
    completed(s, [f], 58, 21)
    return s.events


def failed():
    s = Stream()
    s.add({"type": "response.created", "response": response("in_progress", [])})
    err = {"code": "context_length_exceeded",
           "message": "Your input exceeds the context window of this model. "
                      "Please adjust your input and try again."}
    s.add({"type": "response.failed", "response": response("failed", [], None, err)})
    return s.events


def serialize(events, eol="\n", keep_alive_every=0):
    out = []
    for i, (etype, payload) in enumerate(events):
        if keep_alive_every and i % keep_alive_every == 0:
            out.append(": keep-alive" + eol + eol)
        out.append("event: " + etype + eol + "data: " + compact(payload) + eol + eol)
    return "".join(out).encode("utf-8")


def expected(events):
    return "".join(compact({"event": t, "data": compact(p), "id": None, "retry": None}) + "\n"
                   for t, p in events).encode("utf-8")


def write(name, raw, events):
    with open(os.path.join(HERE, name + ".sse"), "wb") as f:
        f.write(raw)
    with open(os.path.join(HERE, name + ".expected.ndjson"), "wb") as f:
        f.write(expected(events))


def error_multiline():
    """A pretty-printed error split over several data lines, with a BOM, a comment, `retry`,
    `id`, and an incomplete trailing event that a parser must discard at end of stream."""
    lines = ["{", '  "type": "error",',
             '  "error": {"type": "server_error", "code": "server_error", "message": "boom"}',
             "}"]
    raw = ("\ufeff: upstream says hello\nretry: 3000\nid: evt-1\nevent: error\n"
           + "".join("data: " + l + "\n" for l in lines) + "\n"
           + "event: response.output_text.delta\ndata: {\"type\":\"never dispatched\"}\n")
    exp = compact({"event": "error", "data": "\n".join(lines), "id": "evt-1", "retry": 3000})
    with open(os.path.join(HERE, "error_multiline.sse"), "wb") as f:
        f.write(raw.encode("utf-8"))
    with open(os.path.join(HERE, "error_multiline.expected.ndjson"), "wb") as f:
        f.write((exp + "\n").encode("utf-8"))


def main():
    text = text_deltas()
    write("text_deltas", serialize(text), text)
    write("text_deltas_crlf", serialize(text, eol="\r\n", keep_alive_every=5), text)
    write("reasoning", serialize(with_reasoning()), with_reasoning())
    write("tool_call", serialize(tool_call()), tool_call())
    write("failed", serialize(failed(), eol="\r"), failed())
    error_multiline()


if __name__ == "__main__":
    main()
