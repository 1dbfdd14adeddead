"""JSON through orjson (a compiled encoder and decoder, 5-10x the standard library's speed on the engine's
records and request bodies) where it gives what the standard library gives, and the standard library
where it would not: orjson refuses integers past 64 bits and keys that are not text (encoding), and
reads integers past 64 bits as floats (decoding).

`compact(value)`: the JSON of a request body or a state column, UTF-8, no spaces (what httpx's `json=`
sends). `source_object(raw)`: a JSON Lines line read, or None where the standard library must read it
(and say why it cannot). tests/test_jsoncodec.py holds both to the standard library."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# 19 digits in a row may be an integer past 64 bits, which orjson would read as a float
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def compact(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`: orjson's, or the standard library's for what orjson refuses."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def compact_text(value: Any) -> str:
    return compact(value).decode("utf-8")


def source_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object of one line, or None: not an object, not JSON, or a case orjson would read
    otherwise than the standard library (whose reading, and refusal, then decide)."""
    if _LONG_DIGITS.search(raw):
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
