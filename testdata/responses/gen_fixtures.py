#!/usr/bin/env python3
"""Writes the upstream Codex Responses SSE fixtures (*.sse) in this directory.

Each stream follows the event catalog and canonical sequences of
shared/reference/protocols.md §1.8-1.9 (event names, field names, `sequence_number`,
`event:` lines, `logprobs`/`obfuscation` noise on text deltas, usage shape, error shapes).
Run from anywhere: `python3 testdata/responses/gen_fixtures.py`. Output is deterministic.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "gpt-5.4"
CREATED = 1758982136


class Stream:
    def __init__(self, resp_id):
        self.resp_id = resp_id
        self.seq = 0
        self.out = []

    def ev(self, kind, **fields):
        data = {"type": kind, "sequence_number": self.seq}
        data.update(fields)
        self.seq += 1
        self.out.append(f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n")

    def response(self, status, output=None, usage=None, error=None, incomplete=None):
        return {
            "id": self.resp_id, "object": "response", "created_at": CREATED, "status": status,
            "error": error, "incomplete_details": incomplete, "instructions": "", "model": MODEL,
            "output": output if output is not None else [], "parallel_tool_calls": True,
            "reasoning": {"effort": "medium", "summary": "auto"}, "store": False,
            "tool_choice": "auto", "usage": usage,
        }

    def start(self):
        self.ev("response.created", response=self.response("in_progress"))
        self.ev("response.in_progress", response=self.response("in_progress"))

    def message(self, oi, msg_id, deltas, announce=True, done=True):
        text = "".join(deltas)
        if announce:
            self.ev("response.output_item.added", output_index=oi,
                    item={"id": msg_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"})
            self.ev("response.content_part.added", item_id=msg_id, output_index=oi, content_index=0,
                    part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""})
            for i, d in enumerate(deltas):
                self.ev("response.output_text.delta", item_id=msg_id, output_index=oi, content_index=0,
                        delta=d, logprobs=[], obfuscation="x" * (i % 5 + 3))
            if done:
                self.ev("response.output_text.done", item_id=msg_id, output_index=oi, content_index=0,
                        text=text, logprobs=[])
                self.ev("response.content_part.done", item_id=msg_id, output_index=oi, content_index=0,
                        part={"type": "output_text", "annotations": [], "logprobs": [], "text": text})
        item = {"id": msg_id, "type": "message", "status": "completed",
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}], "role": "assistant"}
        if done:
            self.ev("response.output_item.done", output_index=oi, item=item)
        return item

    def reasoning(self, oi, rs_id, parts, enc):
        self.ev("response.output_item.added", output_index=oi,
                item={"id": rs_id, "type": "reasoning", "encrypted_content": enc[:24], "summary": []})
        for si, deltas in enumerate(parts):
            self.ev("response.reasoning_summary_part.added", item_id=rs_id, output_index=oi, summary_index=si,
                    part={"type": "summary_text", "text": ""})
            for i, d in enumerate(deltas):
                self.ev("response.reasoning_summary_text.delta", item_id=rs_id, output_index=oi, summary_index=si,
                        delta=d, obfuscation="y" * (i % 4 + 2))
            text = "".join(deltas)
            self.ev("response.reasoning_summary_text.done", item_id=rs_id, output_index=oi, summary_index=si, text=text)
            self.ev("response.reasoning_summary_part.done", item_id=rs_id, output_index=oi, summary_index=si,
                    part={"type": "summary_text", "text": text})
        item = {"id": rs_id, "type": "reasoning", "encrypted_content": enc,
                "summary": [{"type": "summary_text", "text": "".join(p)} for p in parts]}
        self.ev("response.output_item.done", output_index=oi, item=item)
        return item

    def call_added(self, oi, fc_id, call_id, name):
        self.ev("response.output_item.added", output_index=oi,
                item={"id": fc_id, "type": "function_call", "status": "in_progress", "arguments": "",
                      "call_id": call_id, "name": name})

    def call_delta(self, oi, fc_id, delta):
        self.ev("response.function_call_arguments.delta", item_id=fc_id, output_index=oi, delta=delta,
                obfuscation="zz")

    def call_done(self, oi, fc_id, call_id, name, args):
        self.ev("response.function_call_arguments.done", item_id=fc_id, output_index=oi, arguments=args)
        item = {"id": fc_id, "type": "function_call", "status": "completed", "arguments": args,
                "call_id": call_id, "name": name}
        self.ev("response.output_item.done", output_index=oi, item=item)
        return item

    def completed(self, output, usage):
        self.ev("response.completed", response=self.response("completed", output, usage))

    def write(self, name):
        with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(self.out))


def usage(inp, cached, out, reasoning):
    return {"input_tokens": inp, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": inp + out}


ENC = "gAAAAABo3Kx1" + "Q2xhdWRlIGlzIG5vdCBoZXJl" * 4 + "=="


def text():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f001")
    s.start()
    m = s.message(0, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a001",
                  ["Hello", "! Here is a \"quoted\" word", ", a tab\t, a newline\n", "and unicode: café ✓ 🚀."])
    s.completed([m], usage(21, 0, 19, 0))
    s.write("text.sse")


def reasoning_text():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f002")
    s.start()
    r = s.reasoning(0, "rs_68e3a1f1a2b48190a9d4e6f7c8b9a002",
                    [["**Planning", " the answer**\n\n", "The user wants 2+2."],
                     ["**Checking**\n\n", "2+2 is 4."]], ENC)
    m = s.message(1, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a003", ["2 + 2", " = 4."])
    s.completed([r, m], usage(1250, 1024, 96, 64))
    s.write("reasoning_text.sse")


def tool_call():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f003")
    s.start()
    r = s.reasoning(0, "rs_68e3a1f1a2b48190a9d4e6f7c8b9a004", [["**Looking up weather**"]], ENC)
    s.call_added(1, "fc_68e3a1f1a2b48190a9d4e6f7c8b9a005", "call_Xk2mP9qL4vN8rT1wY6zB3cD7", "get_weather")
    args = ["{\"", "city", "\":\"", "Paris", "\",\"", "unit", "\":\"c\"}"]
    for d in args:
        s.call_delta(1, "fc_68e3a1f1a2b48190a9d4e6f7c8b9a005", d)
    c = s.call_done(1, "fc_68e3a1f1a2b48190a9d4e6f7c8b9a005", "call_Xk2mP9qL4vN8rT1wY6zB3cD7", "get_weather",
                    "".join(args))
    s.completed([r, c], usage(310, 0, 42, 18))
    s.write("tool_call.sse")


def parallel_tool_calls():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f004")
    s.start()
    a, b = "fc_68e3a1f1a2b48190a9d4e6f7c8b9a006", "fc_68e3a1f1a2b48190a9d4e6f7c8b9a007"
    ca, cb = "call_Pa1rS3qU5vW7xY9zA2bC4dE6", "call_Lo8nD0nT2kY4oP6aR8iS0bE2"
    s.call_added(0, a, ca, "get_weather")
    s.call_delta(0, a, "{\"city\":")
    s.call_added(1, b, cb, "get_weather")  # interleaved: call 2 starts before call 1 finishes
    s.call_delta(1, b, "{\"city\":")
    s.call_delta(0, a, "\"Paris\"}")
    s.call_delta(1, b, "\"London\"}")
    c1 = s.call_done(0, a, ca, "get_weather", "{\"city\":\"Paris\"}")
    c2 = s.call_done(1, b, cb, "get_weather", "{\"city\":\"London\"}")
    s.completed([c1, c2], usage(402, 128, 51, 0))
    s.write("parallel_tool_calls.sse")


def args_on_done():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f005")
    s.start()
    fc, call = "fc_68e3a1f1a2b48190a9d4e6f7c8b9a008", "call_D0neOnLyA4gS6hJ8kL0mN2pQ"
    s.call_added(0, fc, call, "exec_command")
    c = s.call_done(0, fc, call, "exec_command", "{\"cmd\":\"echo \\\"hi\\\"\\n\",\"timeout_ms\":1000}")
    s.completed([c], usage(980, 0, 27, 0))
    s.write("args_on_done.sse")


def empty_completed_output():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f006")
    s.start()
    s.message(0, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a009", ["The backend", " sent an empty", " output list."])
    s.completed([], {"input_tokens": 15, "input_tokens_details": None, "output_tokens": 9,
                     "output_tokens_details": None, "total_tokens": 24})
    s.write("empty_completed_output.sse")


def minimal_done_only():
    # protocols.md §1.9 C / clients.md §4: only output_item.done items and completed{id}.
    s = Stream("r1")
    s.ev("response.output_item.done", output_index=0,
         item={"type": "message", "role": "assistant", "id": "m1",
               "content": [{"type": "output_text", "text": "MINIMAL OK"}]})
    s.ev("response.output_item.done", output_index=1,
         item={"type": "function_call", "call_id": "call_1", "name": "exec_command",
               "arguments": "{\"cmd\":\"echo codex-tool-ok\"}"})
    s.ev("response.completed", response={"id": "r1"})
    s.write("minimal_done_only.sse")


def failed_context_length():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f007")
    s.start()
    s.ev("response.failed", response=s.response("failed", error={
        "code": "context_length_exceeded",
        "message": "Your input exceeds the context window of this model. Please adjust your input and try again."}))
    s.write("failed_context_length.sse")


def failed_rate_limit():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f008")
    s.start()
    s.ev("response.failed", response=s.response("failed", error={
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached for gpt-5.4 in organization org-abc on tokens per min (TPM): "
                   "Limit 30000, Used 29800, Requested 900. Please try again in 1.5s."}))
    s.write("failed_rate_limit.sse")


def incomplete():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f009")
    s.start()
    s.message(0, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a010", ["Once upon", " a time, there"], done=False)
    s.ev("response.incomplete", response=s.response(
        "incomplete", output=[], usage=usage(33, 0, 16, 0), incomplete={"reason": "max_output_tokens"}))
    s.write("incomplete.sse")


def error_event():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f010")
    s.start()
    s.message(0, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a011", ["Partial", " answer"], done=False)
    s.ev("error", error={"type": "server_error", "code": "server_error",
                         "message": "An error occurred while processing your request."})
    s.write("error_event.sse")


def web_search():
    s = Stream("resp_68e3a1f0c8d48190b1a0c7a6d2e4f011")
    s.start()
    ws = "ws_68e3a1f1a2b48190a9d4e6f7c8b9a012"
    s.ev("response.output_item.added", output_index=0,
         item={"id": ws, "type": "web_search_call", "status": "in_progress"})
    for kind in ["in_progress", "searching", "completed"]:
        s.ev(f"response.web_search_call.{kind}", item_id=ws, output_index=0)
    item = {"id": ws, "type": "web_search_call", "status": "completed",
            "action": {"type": "search", "query": "weather in Paris today"}}
    s.ev("response.output_item.done", output_index=0, item=item)
    msg = s.message(1, "msg_68e3a1f1a2b48190a9d4e6f7c8b9a013", ["It is sunny", " in Paris (21 °C)."])
    s.completed([item, msg], usage(310, 0, 25, 0))
    s.write("web_search.sse")


for f in [text, reasoning_text, tool_call, parallel_tool_calls, args_on_done, empty_completed_output,
          minimal_done_only, failed_context_length, failed_rate_limit, incomplete, error_event,
          web_search]:
    f()
