"""Long audio through the proxy with the official OpenAI Python SDK: verbose_json segments and
srt / vtt cues with the real segment times. Prints one JSON object for the Rust test to check.

usage: transcriptions_long.py BASE_URL API_KEY WAV
"""
import json
import re
import sys

from openai import OpenAI

base, key, wav = sys.argv[1:4]
client = OpenAI(base_url=base, api_key=key, timeout=300, max_retries=0)


def stamp(t):
    h, m, rest = t.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


with open(wav, "rb") as f:
    verbose = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json")
segments = [{"start": s.start, "end": s.end, "text": s.text} for s in verbose.segments]
cues = {}
for fmt in ("srt", "vtt"):
    with open(wav, "rb") as f:
        text = client.audio.transcriptions.create(model="whisper-1", file=f, response_format=fmt)
    text = text if isinstance(text, str) else str(text)
    cues[fmt] = [[stamp(a), stamp(b)] for a, b in re.findall(r"(\d\d:\d\d:\d\d[.,]\d{3}) --> (\d\d:\d\d:\d\d[.,]\d{3})", text)]
print(json.dumps({"duration": verbose.duration, "text": verbose.text, "segments": segments, "cues": cues}))
