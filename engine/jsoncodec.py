"""JSON through orjson (a compiled encoder and decoder, 5-10x the standard library's speed on the engine's
records and request bodies) where it gives what the standard library gives, and the standard library
where it would not: orjson refuses integers past 64 bits and keys that are not text (encoding), and
reads integers past 64 bits as floats (decoding: such a line is read by the standard library).

`compact(value)`: the JSON of a request body or a state column, UTF-8, no spaces (what httpx's `json=`
sends). `source_object(raw)`: a JSON Lines line read, or None where the standard library must read it
(and say why it cannot). tests/test_jsoncodec.py holds both to the standard library."""

from __future__ import annotations

import json
from typing import Any

import orjson


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
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or _holds_huge_float(data):
        return None
    return data


# orjson reads an integer outside 64 bits as a float, which is then at least this large
_INT64_BOUND = float(2**63)


def _holds_huge_float(value: Any) -> bool:
    """Whether a float at least as large as a 64-bit integer is in `value` (an integer orjson read as a
    float, or a float the standard library reads alike): cheaper than searching the line for long runs
    of digits. Text, integers, booleans and None (most of a record) are passed over without a call."""
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return kind is float and abs(value) >= _INT64_BOUND
    for item in value:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if _holds_huge_float(item):
            return True
    return False
