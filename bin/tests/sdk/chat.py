"""OpenAI Python SDK (openai==3.52.0) against codex-pipe's /v1/chat/completions.

Usage: chat.py <base_url ending in /v1>. The proxy must run over the simulated backend
(scenario markers: see bin/src/sim/responses.rs). Prints "OK <check>" per check, then "ALL OK";
any failure raises (non-zero exit).
"""

import json
import sys

import openai
import pydantic
from openai import OpenAI

SIM_TEXT = 'Hello from the codex-pipe simulator: "quotes", ünïcode ✓ and a crab 🦀.'
MODEL = "gpt-5.4"

client = OpenAI(base_url=sys.argv[1], api_key="sk-test", max_retries=0, timeout=30)

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
     "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}},
]


def user(text):
    return [{"role": "user", "content": text}]


def extra(obj, name):
    """A field the SDK's models do not declare (e.g. reasoning_content)."""
    return (obj.model_extra or {}).get(name)


def streaming_text():
    chunks = list(client.chat.completions.create(model=MODEL, messages=user("hi"), stream=True))
    assert len(chunks) > 5, len(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == SIM_TEXT, text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.id == chunks[0].id and c.object == "chat.completion.chunk" for c in chunks)


def non_streaming_text():
    r = client.chat.completions.create(model=MODEL, messages=user("hi"))
    assert r.choices[0].message.content == SIM_TEXT, r
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.total_tokens >= r.usage.prompt_tokens


def reasoning():
    chunks = list(client.chat.completions.create(model=MODEL, messages=user("sim:reasoning"), stream=True))
    thought = "".join(extra(c.choices[0].delta, "reasoning_content") or "" for c in chunks if c.choices)
    assert thought.startswith("**Thinking it over**"), thought
    assert "**Answering**" in thought
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == SIM_TEXT
    r = client.chat.completions.create(model=MODEL, messages=user("sim:reasoning"))
    assert "A short hello will do." in extra(r.choices[0].message, "reasoning_content")
    assert r.usage.completion_tokens_details.reasoning_tokens == 12


def tool_round_trip():
    messages = user("sim:parallel_tools")
    with client.chat.completions.stream(model=MODEL, messages=messages, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"], calls
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert json.loads(calls[1].function.arguments) == {"zone": "London"}
    messages = messages + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in calls]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "12:00"},
    ]
    r = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    expected = f'Tool output received: {calls[0].id}: {{"temp": 21}}; {calls[1].id}: 12:00'
    assert r.choices[0].message.content == expected, r.choices[0].message.content


class Weather(pydantic.BaseModel):
    city: str
    temperature: int


def json_schema():
    r = client.chat.completions.parse(model=MODEL, messages=user("weather in Paris?"), response_format=Weather)
    parsed = r.choices[0].message.parsed
    assert parsed == Weather(city="Paris", temperature=1), r.choices[0].message


def include_usage():
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=user("hi"), stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage.total_tokens > 0, last
    assert all(c.usage is None for c in chunks[:-1])


def raises(exc_type, fn):
    """Runs `fn`, which must raise exactly `exc_type` (not a subclass); returns the exception."""
    try:
        fn()
    except openai.OpenAIError as e:
        assert type(e) is exc_type, f"expected {exc_type.__name__}, got {type(e).__name__}: {e}"
        return e
    raise AssertionError(f"expected {exc_type.__name__}")


def drain(marker):
    return lambda: list(client.chat.completions.create(model=MODEL, messages=user(marker), stream=True))


def once(marker, **kwargs):
    return lambda: client.chat.completions.create(model=MODEL, messages=user(marker), **kwargs)


def errors():
    e = raises(openai.RateLimitError, drain("sim:failed_rate_limit"))
    assert e.response.headers["retry-after"] == "2", e.response.headers
    e = raises(openai.RateLimitError, once("sim:http_429"))
    assert e.response.headers["retry-after"] == "7", e.response.headers
    assert e.code == "usage_limit_reached", e.code
    e = raises(openai.BadRequestError, drain("sim:failed_context"))
    assert e.code == "context_length_exceeded", e.code
    e = raises(openai.BadRequestError, once("hi", n=2))
    assert e.param == "n", e
    # Failures after the first byte: an in-band error frame, raised as the base APIError.
    e = raises(openai.APIError, drain("sim:error_event"))
    assert "An error occurred" in e.message, e.message
    e = raises(openai.APIError, drain("sim:premature_close"))
    assert "stream closed" in e.message, e.message
    raises(openai.InternalServerError, once("sim:premature_close"))
    r = once("sim:incomplete")()
    assert r.choices[0].finish_reason == "length", r


def models():
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids, ids


for check in [streaming_text, non_streaming_text, reasoning, tool_round_trip, json_schema,
              include_usage, errors, models]:
    check()
    print("OK", check.__name__, flush=True)
print("ALL OK")
