"""Official ollama Python client (ollama==0.6.3) against codex-pipe's Ollama surface.

Usage: ollama_client.py <host, e.g. http://127.0.0.1:PORT>. The proxy must run over the
simulated backend (scenario markers: see bin/src/sim/responses.rs). Prints "OK <check>" per
check, then "ALL OK"; any failure raises (non-zero exit). (Not named ollama.py: that would
shadow the package.)
"""

import sys

import ollama

SIM_TEXT = 'Hello from the codex-pipe simulator: "quotes", ünïcode ✓ and a crab 🦀.'
MODEL = "gpt-5.4"

client = ollama.Client(host=sys.argv[1], timeout=30)

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
     "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}},
]


def user(text):
    return [{"role": "user", "content": text}]


def tags():
    names = [m.model for m in client.list().models]
    assert MODEL in names, names


def show():
    s = client.show(MODEL)
    assert {"completion", "tools", "vision", "thinking"} <= set(s.capabilities), s.capabilities
    assert s.modelinfo[f"{MODEL}.context_length"] == 272000, s.modelinfo


def streaming_chat():
    parts = list(client.chat(model=MODEL, messages=user("hi"), stream=True))
    assert len(parts) > 5, len(parts)
    assert "".join(p.message.content or "" for p in parts) == SIM_TEXT
    last = parts[-1]
    assert last.done and last.done_reason == "stop", last
    assert last.eval_count > 0 and last.prompt_eval_count > 0 and last.total_duration > 0, last
    assert not any(p.done for p in parts[:-1])


def non_streaming_chat():
    r = client.chat(model=MODEL, messages=user("hi"))
    assert r.message.content == SIM_TEXT, r
    assert r.done and r.done_reason == "stop"


def tool_round_trip():
    messages = user("sim:tool")
    r = client.chat(model=MODEL, messages=messages, tools=TOOLS[:1])
    calls = r.message.tool_calls
    assert calls and calls[0].function.name == "get_weather", r
    assert calls[0].function.arguments == {"city": "Paris"}, calls[0].function.arguments
    messages = messages + [r.message, {"role": "tool", "content": "sunny", "tool_name": "get_weather"}]
    r2 = client.chat(model=MODEL, messages=messages, tools=TOOLS[:1])
    assert "Tool output received" in r2.message.content and "sunny" in r2.message.content, r2


def streamed_tool_calls():
    calls = []
    for part in client.chat(model=MODEL, messages=user("sim:parallel_tools"), tools=TOOLS, stream=True):
        calls.extend(part.message.tool_calls or [])
    assert [c.function.name for c in calls] == ["get_weather", "get_time"], calls
    assert calls[1].function.arguments == {"zone": "London"}, calls


def thinking():
    r = client.chat(model=MODEL, messages=user("sim:reasoning"), think=True)
    assert r.message.thinking.startswith("**Thinking it over**"), r.message
    assert r.message.content == SIM_TEXT
    parts = list(client.chat(model=MODEL, messages=user("sim:reasoning"), think=True, stream=True))
    thought = "".join(p.message.thinking or "" for p in parts)
    assert "A short hello will do." in thought, thought
    plain = client.chat(model=MODEL, messages=user("sim:reasoning"))
    assert not plain.message.thinking, plain.message


def generate():
    r = client.generate(model=MODEL, prompt="hi")
    assert r.response == SIM_TEXT and r.done, r
    parts = list(client.generate(model=MODEL, prompt="hi", stream=True))
    assert "".join(p.response for p in parts) == SIM_TEXT
    assert parts[-1].done and parts[-1].done_reason == "stop"


def rate_limit():
    try:
        client.chat(model=MODEL, messages=user("sim:http_429"))
    except ollama.ResponseError as e:
        assert e.status_code == 429, e.status_code
        assert "usage limit" in e.error, e.error
    else:
        raise AssertionError("expected ResponseError 429")


def mid_stream_failure():
    text = ""
    try:
        for part in client.chat(model=MODEL, messages=user("sim:error_event"), stream=True):
            text += part.message.content or ""
    except ollama.ResponseError as e:
        assert e.error, e
        assert text, "the partial answer arrived before the error"
    else:
        raise AssertionError("expected the stream to raise")


for check in [tags, show, streaming_chat, non_streaming_chat, tool_round_trip,
              streamed_tool_calls, thinking, generate, rate_limit, mid_stream_failure]:
    check()
    print("OK", check.__name__, flush=True)
print("ALL OK")
