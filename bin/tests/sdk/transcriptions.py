"""The official OpenAI Python SDK against codex-pipe-proxy's /v1/audio/transcriptions.

Usage: transcriptions.py <base_url> <api_key> <fixture_dir>

<base_url> is the proxy's OpenAI base URL (ending in /v1), <api_key> the key it was started
with, <fixture_dir> testdata/audio. The proxy must run against the simulated backend (its
transcripts describe the audio) with an upload limit below OVERSIZE_BYTES (the Rust test uses
1 MB). Run by bin/tests/proxy_transcriptions.rs; exits non-zero on the first failed check.
"""

import math
import sys
from pathlib import Path

import openai
from openai.types.audio import Transcription, TranscriptionVerbose

SIM_PREFIX = "[codex-pipe simulated transcription]"
# Larger than the test proxy's 1 MB limit, within what it drains before answering.
OVERSIZE_BYTES = 1_500_000


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    base_url, api_key, fixtures = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)

    def transcribe(name, **kwargs):
        with open(fixtures / name, "rb") as f:
            return client.audio.transcriptions.create(model="whisper-1", file=f, **kwargs)

    # json (the default: the SDK omits response_format).
    r = transcribe("en_cbr64.mp3")
    check(isinstance(r, Transcription), f"json: {type(r)}")
    check(r.text.startswith(f"{SIM_PREFIX} received mp3 audio (mp3)"), f"json text: {r.text!r}")
    usage = r.usage
    check(usage is not None and usage.type == "duration", f"json usage: {usage!r}")
    check(usage.seconds == 4, f"json usage seconds: {usage.seconds!r}")
    print("json ok:", r.text)

    # text: the SDK returns the raw body as str.
    r = transcribe("en.silk", response_format="text")
    check(isinstance(r, str), f"text: {type(r)}")
    check(r.startswith(f"{SIM_PREFIX} received ogg_opus audio (opus)"), f"text: {r!r}")
    check(r.endswith("\n") and not r.startswith('"'), f"text framing: {r!r}")
    print("text ok:", r.strip())

    # verbose_json with word timestamps and a language.
    r = transcribe(
        "en_16000.wav",
        response_format="verbose_json",
        language="en",
        temperature=0.0,
        timestamp_granularities=["word", "segment"],
    )
    check(isinstance(r, TranscriptionVerbose), f"verbose_json: {type(r)}")
    check(r.language == "english", f"language: {r.language!r}")
    check(abs(r.duration - 3.72) < 0.01, f"duration: {r.duration!r}")
    check(r.text.endswith(", language en"), f"verbose text: {r.text!r}")
    check(r.segments is not None and len(r.segments) == 1, f"segments: {r.segments!r}")
    seg = r.segments[0]
    check(seg.id == 0 and seg.start == 0.0 and seg.end == r.duration, f"segment: {seg!r}")
    check(seg.text == r.text and isinstance(seg.tokens, list), f"segment text: {seg!r}")
    check(r.words is not None and len(r.words) == len(r.text.split()), f"words: {r.words!r}")
    check(r.words[0].start == 0.0 and r.words[-1].end == r.duration, f"word span: {r.words!r}")
    check([w.word for w in r.words] == r.text.split(), "words are the transcript's tokens")
    check(r.usage is not None and r.usage.seconds == math.ceil(r.duration), f"usage: {r.usage!r}")
    print("verbose_json ok:", r.language, r.duration, len(r.words), "words")

    # srt and vtt: raw strings with one cue spanning the audio.
    r = transcribe("en_cbr64.mp3", response_format="srt")
    check(isinstance(r, str), f"srt: {type(r)}")
    lines = r.split("\n")
    check(lines[0] == "1" and lines[1] == "00:00:00,000 --> 00:00:03,720", f"srt: {r!r}")
    check(lines[2].startswith(SIM_PREFIX) and r.endswith("\n\n"), f"srt cue: {r!r}")
    print("srt ok")
    r = transcribe("en.m4a", response_format="vtt")
    check(isinstance(r, str) and r.startswith("WEBVTT\n\n00:00:00.000 --> "), f"vtt: {r!r}")
    print("vtt ok")

    # A wrong key.
    wrong = openai.OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0, timeout=60)
    try:
        with open(fixtures / "en.opus", "rb") as f:
            wrong.audio.transcriptions.create(model="whisper-1", file=f)
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError as e:
        check(e.status_code == 401 and e.code == "invalid_api_key", f"401: {e!r}")
    print("wrong key ok")

    # An upload over the limit.
    try:
        client.audio.transcriptions.create(
            model="whisper-1", file=("big.wav", b"RIFF" + bytes(OVERSIZE_BYTES), "audio/wav")
        )
        raise AssertionError("an oversize upload was accepted")
    except openai.APIStatusError as e:
        check(e.status_code == 413, f"oversize: {e.status_code} {e!r}")
        check(e.code == "file_too_large" and e.param == "file", f"oversize body: {e.body!r}")
    print("oversize ok")

    # A corrupt file.
    try:
        transcribe("random_1000.bin")
        raise AssertionError("a corrupt file was accepted")
    except openai.BadRequestError as e:
        check(e.param == "file", f"corrupt param: {e.param!r}")
        check("unrecognised audio container" in e.message, f"corrupt message: {e.message!r}")
    print("corrupt ok")

    print("all SDK checks passed")


if __name__ == "__main__":
    main()
