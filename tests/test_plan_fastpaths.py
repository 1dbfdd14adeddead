"""The offline plan's fast paths give what the slow paths they replace give: the plan's JSON written by
orjson is the text json.dumps(indent=2) writes."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.spool import jsonout


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    pass


# every character, lone surrogates too; numbers of any size; what default=str writes
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=6)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
           | st.sampled_from([Colour.RED, Level.HIGH, Text("t"), dt.date(2026, 12, 2),
                              dt.datetime(2026, 12, 2, 8, 30), decimal.Decimal("1.5")]))
KEYS = ANY_TEXT | st.integers() | st.floats() | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=3), max_leaves=15)


@settings(max_examples=1000, deadline=None)
@given(VALUES, st.integers(min_value=0, max_value=3))
@example(1e-05, 0)
@example(float("nan"), 1)
@example({"a": [float("inf"), 2**64]}, 2)
@example(["\ud800"], 0)
@example({1: "one"}, 1)
def test_a_value_is_written_as_json_dumps_writes_it(value: Any, depth: int) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert jsonout.dumps(value, depth) == expected.replace("\n", "\n" + "  " * depth)
