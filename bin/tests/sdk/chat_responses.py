"""OpenAI Python SDK (openai==3.52.0) against codex-pipe's /v1/responses passthrough.

Usage: chat_responses.py <base_url ending in /v1>, with the proxy over the simulated backend.
Prints "OK <check>" per check, then "ALL OK"; any failure raises.
"""

import sys

import openai
from openai import OpenAI

SIM_TEXT = 'Hello from the codex-pipe simulator: "quotes", ünïcode ✓ and a crab 🦀.'
MODEL = "gpt-5.4"

client = OpenAI(base_url=sys.argv[1], api_key="sk-test", max_retries=0, timeout=30)

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def non_streaming():
    r = client.responses.create(model=MODEL, input="hi", temperature=0.3, max_output_tokens=50)
    assert r.output_text == SIM_TEXT, r
    assert r.status == "completed" and r.usage.input_tokens > 0


def streaming_events():
    events = list(client.responses.create(model=MODEL, input="hi", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed", types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == SIM_TEXT


def stream_helper_with_reasoning():
    with client.responses.stream(model=MODEL, input="sim:reasoning") as stream:
        final = stream.get_final_response()
    assert final.output_text == SIM_TEXT, final
    reasoning = [o for o in final.output if o.type == "reasoning"]
    assert reasoning and reasoning[0].summary[0].text.startswith("**Thinking it over**"), final.output


def tool_round_trip():
    first = client.responses.create(model=MODEL, input="sim:tool", tools=[WEATHER])
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather", first.output
    history = [{"role": "user", "content": "sim:tool"},
               {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name,
                "arguments": calls[0].arguments},
               {"type": "function_call_output", "call_id": calls[0].call_id, "output": "21C and sunny"}]
    second = client.responses.create(model=MODEL, input=history, tools=[WEATHER])
    assert second.output_text == f"Tool output received: {calls[0].call_id}: 21C and sunny", second.output_text


def failures():
    try:
        client.responses.create(model=MODEL, input="sim:http_429")
        raise AssertionError("expected RateLimitError")
    except openai.RateLimitError as e:
        assert e.response.headers["retry-after"] == "7"
    # In a stream, response.failed is forwarded as the backend sent it.
    events = list(client.responses.create(model=MODEL, input="sim:failed_context", stream=True))
    assert events[-1].type == "response.failed", events[-1]
    assert events[-1].response.error.code == "context_length_exceeded"
    try:
        client.responses.create(model=MODEL, input="sim:failed_context")
        raise AssertionError("expected BadRequestError")
    except openai.BadRequestError as e:
        assert e.code == "context_length_exceeded", e


def compact():
    r = client.responses.compact(model=MODEL, input="a long conversation")
    assert r.output[0].type == "compaction", r


for check in [non_streaming, streaming_events, stream_helper_with_reasoning, tool_round_trip,
              failures, compact]:
    check()
    print("OK", check.__name__, flush=True)
print("ALL OK")
