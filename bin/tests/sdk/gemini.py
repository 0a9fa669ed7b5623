"""Official google-genai Python SDK (google-genai==3.4.0) against codex-pipe's Gemini surface.

Usage: gemini.py <base_url without a version> <api_version: v1 | v1beta>. The proxy must run
over the simulated backend (scenario markers: see bin/src/sim/responses.rs). Prints "OK <check>"
per check, then "ALL OK"; any failure raises (non-zero exit).
"""

import json
import re
import sys

import pydantic
from google import genai
from google.genai import errors, types

SIM_TEXT = 'Hello from the codex-pipe simulator: "quotes", ünïcode ✓ and a crab 🦀.'
MODEL = "gpt-5.4"
BASE, VERSION = sys.argv[1], sys.argv[2]

client = genai.Client(
    api_key="test-key",
    http_options=types.HttpOptions(base_url=BASE, api_version=VERSION, timeout=30_000),
)

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather in a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"city": types.Schema(type=types.Type.STRING)},
        required=["city"],
    ),
)
TIME = types.FunctionDeclaration(
    name="get_time",
    description="Time in a zone",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"zone": types.Schema(type=types.Type.STRING)},
        required=["zone"],
    ),
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


def streaming_text():
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    assert len(chunks) > 5, len(chunks)
    text = "".join(c.text or "" for c in chunks)
    assert text == SIM_TEXT, text
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP, last
    assert last.usage_metadata.prompt_token_count > 0
    assert last.usage_metadata.total_token_count >= last.usage_metadata.prompt_token_count


def non_streaming_text():
    r = client.models.generate_content(model=MODEL, contents="hi")
    assert r.text == SIM_TEXT, r
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.candidates_token_count > 0
    assert r.model_version == MODEL


def thinking():
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    r = client.models.generate_content(model=MODEL, contents="sim:reasoning", config=config)
    thoughts = [p.text for p in r.candidates[0].content.parts if p.thought]
    assert thoughts and thoughts[0].startswith("**Thinking it over**"), r
    assert r.text == SIM_TEXT, r.text
    assert r.usage_metadata.thoughts_token_count > 0


def function_call_round_trip():
    tools = [types.Tool(function_declarations=[WEATHER])]
    config = types.GenerateContentConfig(tools=tools, automatic_function_calling=NO_AFC)
    first = [types.Content(role="user", parts=[types.Part(text="sim:tool")])]
    r = client.models.generate_content(model=MODEL, contents=first, config=config)
    calls = r.function_calls
    assert calls and calls[0].name == "get_weather", r
    assert calls[0].args == {"city": "Paris"}, calls[0].args
    history = first + [
        r.candidates[0].content,
        types.Content(role="user", parts=[
            types.Part.from_function_response(name="get_weather", response={"result": "sunny"})]),
    ]
    r2 = client.models.generate_content(model=MODEL, contents=history, config=config)
    assert "Tool output received" in r2.text and "sunny" in r2.text, r2.text


def thought_signature_round_trip():
    """The backend's encrypted reasoning rides on the function call as thoughtSignature (bytes
    in the SDK) and reaches the backend again unchanged, before the call it belongs to."""
    tools = [types.Tool(function_declarations=[WEATHER])]
    config = types.GenerateContentConfig(tools=tools, automatic_function_calling=NO_AFC)
    first = [types.Content(role="user", parts=[types.Part(text="sim:reasoning_tool")])]
    r = client.models.generate_content(model=MODEL, contents=first, config=config)
    signed = [p for p in r.candidates[0].content.parts if p.function_call]
    assert signed and signed[0].thought_signature, r
    history = first + [
        r.candidates[0].content,
        types.Content(role="user", parts=[
            types.Part.from_function_response(name="get_weather", response={"result": "sunny"}),
            types.Part(text="sim:echo")]),
    ]
    echo = json.loads(client.models.generate_content(model=MODEL, contents=history, config=config).text)
    items = echo["body"]["input"]
    kinds = [i.get("type") for i in items]
    at = kinds.index("reasoning")
    assert kinds[at + 1] == "function_call", kinds
    sent = items[at]["encrypted_content"]
    # The simulator's own blob, byte for byte (it refuses reasoning it did not issue).
    assert re.fullmatch(r"gAAAAsim\d{6}_\d+_[0-9a-f]{16}", sent), sent
    assert items[at + 1]["call_id"] == items[at + 2]["call_id"], items


def streamed_function_calls():
    tools = [types.Tool(function_declarations=[WEATHER, TIME])]
    config = types.GenerateContentConfig(tools=tools, automatic_function_calling=NO_AFC)
    calls = []
    for chunk in client.models.generate_content_stream(model=MODEL, contents="sim:parallel_tools", config=config):
        calls.extend(chunk.function_calls or [])
    assert [c.name for c in calls] == ["get_weather", "get_time"], calls
    assert calls[0].args == {"city": "Paris"} and calls[1].args == {"zone": "London"}, calls


def get_weather(city: str) -> dict:
    """Weather in a city."""
    return {"city": city, "forecast": "sunny-afc"}


def automatic_function_calling():
    config = types.GenerateContentConfig(tools=[get_weather])
    r = client.models.generate_content(model=MODEL, contents="sim:tool", config=config)
    assert "sunny-afc" in r.text, r.text
    history = r.automatic_function_calling_history
    assert any(p.function_call for c in history for p in (c.parts or [])), history


class City(pydantic.BaseModel):
    name: str
    population: int


def json_mode_with_schema():
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=City)
    r = client.models.generate_content(model=MODEL, contents="a city as JSON", config=config)
    assert isinstance(r.parsed, City), (r.text, r.parsed)
    json.loads(r.text)


def rate_limit():
    try:
        client.models.generate_content(model=MODEL, contents="sim:http_429")
    except errors.ClientError as e:
        assert e.code == 429 and e.status == "RESOURCE_EXHAUSTED", (e.code, e.status)
    else:
        raise AssertionError("expected ClientError 429")


def mid_stream_failure():
    text = ""
    try:
        for chunk in client.models.generate_content_stream(model=MODEL, contents="sim:error_event"):
            text += chunk.text or ""
    except errors.APIError as e:
        assert e.code == 502, e.code
        assert text, "the partial answer arrived before the error"
    else:
        raise AssertionError("expected the stream to raise")


def count_tokens():
    r = client.models.count_tokens(model=MODEL, contents="hello world")
    # o200k_base: "hello world" is 2 tokens, plus 3 for the message.
    assert r.total_tokens == 5, r


def models_list():
    names = [m.name for m in client.models.list()]
    assert "models/gpt-5.4" in names, names
    m = client.models.get(model=MODEL)
    assert m.name == "models/gpt-5.4" and "generateContent" in m.supported_actions, m


for check in [streaming_text, non_streaming_text, thinking, function_call_round_trip,
              thought_signature_round_trip,
              streamed_function_calls, automatic_function_calling, json_mode_with_schema,
              rate_limit, mid_stream_failure, count_tokens, models_list]:
    check()
    print("OK", check.__name__, flush=True)
print("ALL OK")
