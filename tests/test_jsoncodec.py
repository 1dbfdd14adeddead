"""The orjson codec (engine.jsoncodec) against the standard library it stands in for: any JSON value
encodes to the same parsed value, and any JSON Lines line reads as the standard library reads it, or
is left to the standard library."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.jsoncodec import compact, source_object
from engine.read import _parse_line

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(),
                    st.text(alphabet=st.characters(codec="utf-8"), max_size=5),
                    st.sampled_from(["", "\u2028", "\x00", "é", "😀", "\\", '"', "</script>"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)), max_leaves=30)


def stdlib_body(value: Any) -> bytes:
    """What httpx's `json=` sent before: the standard library's compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


@settings(max_examples=1500, deadline=None)
@given(value=json_values)
@example(value={"big": 2**64, "small": -2**63 - 1})
@example(value={"float": 1e16, "tiny": 5e-324, "neg_zero": -0.0})
def test_any_json_value_encodes_to_the_same_parsed_value(value: Any) -> None:
    ours, theirs = json.loads(compact(value)), json.loads(stdlib_body(value))
    assert ours == theirs and _same_types(ours, theirs)


@given(value=st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=3))
def test_what_orjson_refuses_is_encoded_as_the_standard_library_does(value: dict[int, int]) -> None:
    assert compact(value) == stdlib_body(value)  # keys that are not text: orjson refuses them


@settings(max_examples=1500, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), json_values, max_size=6), ascii_only=st.booleans(),
       indent=st.sampled_from([None, 0, 2]))
@example(value={"id": 123456789012345678901234567890}, ascii_only=False, indent=None)
@example(value={"id": -9223372036854775809}, ascii_only=True, indent=None)
def test_any_json_lines_line_reads_as_the_standard_library_reads_it(value: dict[str, Any], ascii_only: bool,
                                                                    indent: int | None) -> None:
    line = json.dumps(value, ensure_ascii=ascii_only, indent=indent).replace("\n", " ").encode("utf-8")
    expected = json.loads(line)
    fast = source_object(line)
    assert fast is None or (fast == expected and _same_types(fast, expected))
    assert _parse_line(line) == (expected, None)


@settings(max_examples=1000, deadline=None)
@given(raw=st.one_of(st.binary(max_size=30), st.text(max_size=30).map(lambda t: t.encode("utf-8", "replace")),
                     st.sampled_from([b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e400}', b'{"a": "\\ud800"}',
                                      b'{"a": 1,}', b"[1, 2]", b'"text"', b'{"a": 1} x', b"\xff{}",
                                      b'{"a": "\\ud83d\\ude00"}', b'{"a": 1, "a": 2}'])))
def test_any_line_gets_the_standard_library_verdict(raw: bytes) -> None:
    """Not JSON, not an object, NaN, a lone surrogate...: the same record or the same refusal."""
    fast = source_object(raw)
    if fast is not None:
        expected = json.loads(raw)
        assert fast == expected and _same_types(fast, expected)


def _same_types(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 == 1.0 == True in Python, not in JSON)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True
