"""Official Anthropic Python SDK against codex-pipe's /v1/messages, over the simulated backend.

Usage: anthropic_messages.py <base_url without /v1> <api key>. The proxy must require that key
and run over the simulated backend (scenario markers: bin/src/sim/responses.rs). Prints
"OK <check>" per check, then "ALL OK"; any failure raises (non-zero exit).
"""

import base64
import json
import struct
import sys
import time
import zlib

import anthropic
from anthropic import Anthropic

SIM_TEXT = 'Hello from the codex-pipe simulator: "quotes", ünïcode ✓ and a crab 🦀.'
MODEL = "claude-sonnet-4-6"
BASE, KEY = sys.argv[1], sys.argv[2]

# The key as x-api-key (the SDK's api_key) ...
client = Anthropic(base_url=BASE, api_key=KEY, max_retries=0, timeout=30)
# ... and as Authorization: Bearer (auth_token, what ANTHROPIC_AUTH_TOKEN sets).
bearer = Anthropic(base_url=BASE, auth_token=KEY, max_retries=0, timeout=30)

TOOLS = [{"name": "get_weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}]


def user(text):
    return [{"role": "user", "content": text}]


def text_of(message):
    return "".join(b.text for b in message.content if b.type == "text")


def echoed_body(message):
    """The request body the simulated backend received (sim:echo answers with it)."""
    return json.loads(text_of(message))["body"]


def streaming_text():
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=user("hi")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 5, pieces
    assert "".join(pieces) == SIM_TEXT
    assert final.stop_reason == "end_turn" and final.model == MODEL, final
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0, final.usage
    assert final.id.startswith("msg_")


def non_streaming_text():
    # Sampling fields are accepted and not forwarded (the backend refuses them); sent raw,
    # since not every SDK release still declares them.
    m = client.messages.create(model=MODEL, max_tokens=1024, messages=user("hi"),
                               metadata={"user_id": "sdk-test"},
                               extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5,
                                           "stop_sequences": ["\n\nHuman:"]})
    assert text_of(m) == SIM_TEXT, m
    assert m.stop_reason == "end_turn" and m.type == "message" and m.role == "assistant"
    assert m.usage.cache_read_input_tokens == 0


def raw_event_order():
    events = list(client.messages.create(model=MODEL, max_tokens=1024, stream=True,
                                         messages=user("sim:reasoning"),
                                         thinking={"type": "enabled", "budget_tokens": 2048}))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"], kinds
    starts = [e for e in events if e.type == "content_block_start"]
    assert [s.index for s in starts] == [0, 1], starts
    assert [s.content_block.type for s in starts] == ["thinking", "text"]
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert deltas.index("signature_delta") < deltas.index("text_delta"), deltas
    assert deltas.count("signature_delta") == 1
    assert events[-2].delta.stop_reason == "end_turn"


def tool_round_trip():
    m = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS,
                               tool_choice={"type": "auto", "disable_parallel_tool_use": True},
                               messages=user("sim:tool weather?"))
    assert m.stop_reason == "tool_use", m
    call = next(b for b in m.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}, call
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS,
                                messages=user("sim:tool weather?")) as stream:
        streamed = stream.get_final_message()
    streamed_call = next(b for b in streamed.content if b.type == "tool_use")
    assert streamed_call.input == {"city": "Paris"}, streamed_call
    history = user("sim:tool weather?") + [
        {"role": "assistant", "content": [b.model_dump() for b in m.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": [{"type": "text", "text": "sunny, 21 C"}]}]},
    ]
    done = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=history)
    assert text_of(done) == f"Tool output received: {call.id}: sunny, 21 C", done
    assert done.stop_reason == "end_turn"


def thinking_round_trip():
    first = client.messages.create(model=MODEL, max_tokens=4096, messages=user("sim:reasoning"),
                                   thinking={"type": "enabled", "budget_tokens": 4096})
    thinking = first.content[0]
    assert thinking.type == "thinking" and thinking.thinking.startswith("**Thinking it over**")
    assert thinking.signature.startswith("cxp1."), thinking.signature
    encrypted = thinking.signature.split(".", 2)[2]
    assert encrypted.startswith("gAAAAsim"), encrypted

    def turn(signature, text):
        history = user("sim:reasoning") + [
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": thinking.thinking, "signature": signature},
                {"type": "text", "text": text_of(first)}]},
            {"role": "user", "content": "sim:echo"}]
        return echoed_body(client.messages.create(
            model=MODEL, max_tokens=4096, messages=history,
            thinking={"type": "enabled", "budget_tokens": 4096}))

    # The signature comes back upstream as the reasoning item's encrypted_content, byte-exact
    # (the simulator also verifies it: an unknown blob would be a 400).
    body = turn(thinking.signature, text_of(first))
    reasoning = [i for i in body["input"] if i.get("type") == "reasoning"]
    assert [r["encrypted_content"] for r in reasoning] == [encrypted], reasoning
    assert body["include"] == ["reasoning.encrypted_content"], body
    # A forged signature (same payload, other MAC) and a foreign one never reach the backend.
    forged = "cxp1." + "A" * 43 + "." + encrypted
    for sig in (forged, "ErUBCkYIBxgCIkB0aGlua2luZyBzaWduYXR1cmU="):
        body = turn(sig, text_of(first))
        assert not [i for i in body["input"] if i.get("type") == "reasoning"], body["input"]


def web_search():
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools,
                                messages=user("sim:web_search")) as stream:
        m = stream.get_final_message()
    kinds = [b.type for b in m.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"], kinds
    assert m.content[0].name == "web_search" and m.content[0].input == {"query": "codex-pipe simulator"}
    assert m.content[1].tool_use_id == m.content[0].id
    # The history with both server blocks goes back without error (they are not replayed).
    history = user("sim:web_search") + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
        {"role": "user", "content": "thanks"}]
    again = client.messages.create(model=MODEL, max_tokens=1024, tools=tools, messages=history)
    assert text_of(again) == SIM_TEXT, again


def png_1x1():
    raw = b"\x00\xff\x00\x00"
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_input():
    data = base64.b64encode(png_1x1()).decode()
    m = client.messages.create(model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
        {"type": "text", "text": "sim:echo what is this?"}]}])
    parts = echoed_body(m)["input"][0]["content"]
    assert parts[0] == {"type": "input_image", "image_url": f"data:image/png;base64,{data}"}, parts
    assert parts[1]["type"] == "input_text"


def rate_limit():
    try:
        client.messages.create(model=MODEL, max_tokens=16, messages=user("sim:http_429"))
    except anthropic.RateLimitError as e:
        assert e.status_code == 429 and e.body["error"]["type"] == "rate_limit_error", e.body
        assert e.response.headers["retry-after"] == "7", e.response.headers
    else:
        raise AssertionError("expected RateLimitError")


def bad_block():
    for stream in (False, True):
        try:
            client.messages.create(model=MODEL, max_tokens=16, stream=stream,
                                   messages=[{"role": "user", "content": [{"type": "hologram", "text": "x"}]}])
        except anthropic.BadRequestError as e:
            assert e.body["type"] == "error" and e.body["error"]["type"] == "invalid_request_error", e.body
            assert "messages.0.content.0" in e.body["error"]["message"], e.body
        else:
            raise AssertionError("expected BadRequestError")


def mid_stream_failure():
    seen = []
    try:
        with client.messages.stream(model=MODEL, max_tokens=64, messages=user("sim:error_event")) as stream:
            for text in stream.text_stream:
                seen.append(text)
    except anthropic.APIStatusError as e:
        assert e.body["error"]["type"] == "api_error", e.body
        assert "processing your request" in e.body["error"]["message"]
    else:
        raise AssertionError("expected an APIStatusError from the in-band error event")
    assert "".join(seen) == "Partial answer", seen


def first_text_before_the_end():
    start = time.monotonic()
    first = None
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=user("sim:slow:150 hi")) as stream:
        for _ in stream.text_stream:
            if first is None:
                first = time.monotonic() - start
    total = time.monotonic() - start
    # The simulator waits 150 ms between its ~20 events: the first word must not wait for them.
    assert total > 2.0 and first < total / 2, (first, total)


def pings_during_silent_reasoning():
    # The proxy runs with a 300 ms keep-alive here: the 1.5 s silence becomes `ping` events,
    # which the SDK skips; the answer is whole.
    events = list(client.messages.create(model=MODEL, max_tokens=1024, stream=True,
                                         messages=user("sim:silent_reasoning:1500")))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    text = "".join(e.delta.text for e in events
                   if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == SIM_TEXT, text


def count_tokens():
    n = client.messages.count_tokens(model=MODEL, messages=user("hello world"))
    assert n.input_tokens == 8, n
    more = client.messages.count_tokens(model=MODEL, system="You are terse.", tools=TOOLS,
                                        messages=user("hello world"))
    assert more.input_tokens > n.input_tokens + 20, more


def auth():
    assert text_of(bearer.messages.create(model=MODEL, max_tokens=16, messages=user("hi"))) == SIM_TEXT
    wrong = Anthropic(base_url=BASE, api_key="not-the-key", max_retries=0, timeout=30)
    try:
        wrong.messages.create(model=MODEL, max_tokens=16, messages=user("hi"))
    except anthropic.AuthenticationError as e:
        assert e.body["type"] == "error" and e.body["error"]["type"] == "authentication_error", e.body
    else:
        raise AssertionError("expected AuthenticationError")


for check in (streaming_text, non_streaming_text, raw_event_order, tool_round_trip,
              thinking_round_trip, web_search, image_input, rate_limit, bad_block, mid_stream_failure,
              first_text_before_the_end, pings_during_silent_reasoning, count_tokens, auth):
    check()
    print("OK", check.__name__, flush=True)
print("ALL OK")
